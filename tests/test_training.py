"""The training loop: checkpoints, resume after SIGKILL, bad configs, NaN, logs."""

import dataclasses
import os
import subprocess
import sys

import jax
import numpy as np
import pytest

import tiny_config
from pconvgan import checkpoint
from pconvgan import config as config_lib
from pconvgan import data
from pconvgan import generator
from pconvgan import reporting
from pconvgan import steps
from pconvgan import training
from pconvgan import weights

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ONE_DEVICE = jax.devices()[:1]
def tensorboard_tags(workdir):
  """{tag: set of steps} of the TensorBoard event files under workdir."""
  from tensorboardX.proto import event_pb2  # pylint: disable=import-outside-toplevel
  tags = {}
  folder = os.path.join(workdir, "tensorboard")
  for name in os.listdir(folder):
    with open(os.path.join(folder, name), "rb") as f:
      raw = f.read()
    pos = 0
    while pos < len(raw):  # TFRecord: length, crc, data, crc
      length = int.from_bytes(raw[pos:pos + 8], "little")
      event = event_pb2.Event.FromString(raw[pos + 12:pos + 12 + length])
      pos += 16 + length
      for value in event.summary.value:
        tags.setdefault(value.tag, set()).add(event.step)
  return tags


def losses_by_step(workdir):
  return {r["step"]: {k: v for k, v in r.items()
                      if k not in ("images_per_s", "phase")}
          for r in reporting.read_metrics(os.path.join(workdir, "metrics.jsonl"))}


def run_subprocess(code_or_args, **kwargs):
  args = ([sys.executable, "-c", code_or_args] if isinstance(code_or_args, str)
          else [sys.executable] + code_or_args)
  return subprocess.run(args, cwd=ROOT, capture_output=True, text=True,
                        timeout=300, **kwargs)


@pytest.mark.slow
def test_a_run_logs_checkpoints_samples_and_tensorboard_events(straight_run):
  straight = straight_run
  want = losses_by_step(straight)
  assert sorted(want) == list(range(1, 9))
  tags = tensorboard_tags(straight)
  assert tags["mse"] == {1, 2, 3, 6, 7, 8} and tags["d_loss"] == set(range(4, 9))
  assert tags["samples"] == {8}
  assert os.listdir(os.path.join(straight, "samples")) == ["step_0000008.png"]
  # Saved every 2 steps and at the phase ends (3, 5, 8); the last 3 kept.
  assert sorted(os.listdir(os.path.join(straight, "checkpoints"))) == [
      "5", "6", "8"]


def test_checkpoint_round_trip_and_restore_onto_two_devices(tmp_path):
  config = config_lib.parse(tiny_config.get_config())
  g_tx, d_tx = steps.make_optimizers(config.optim)
  state = steps.init_state(jax.random.key(3), 32, config.model,
                           config.discriminator, g_tx, d_tx)
  loader = data.make_loader(data.list_images(data.demo_folder()), batch_size=2,
                            image_size=32, mask_config={"kind": "box"})
  it = iter(loader)
  next(it)
  mngr = checkpoint.manager(str(tmp_path / "ckpt"))
  checkpoint.save(mngr, 7, state, it, {"note": "test"})
  mngr.wait_until_finished()
  want_next = next(it)

  cpus = jax.devices("cpu")  # simulated ones, also beside a single GPU
  assert len(cpus) >= 2, "conftest sets two CPU devices"
  for devices in (cpus[:1], cpus[:2]):
    replicated, _ = steps.shardings(steps.make_mesh(devices))
    fresh = iter(loader)
    restored = checkpoint.restore(
        mngr, mngr.latest_step(), checkpoint.abstract_like(state, replicated),
        fresh)
    for a, b in zip(jax.tree.leaves(state), jax.tree.leaves(restored)):
      np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
      assert b.sharding.device_set == set(devices)
    np.testing.assert_array_equal(next(fresh)["image"], want_next["image"])
  mngr.close()


@pytest.mark.slow
def test_non_finite_loss_stops_the_run_and_keeps_the_last_checkpoint(
    tmp_path, monkeypatch):
  config = tiny_config.get_config()
  crop = data.crop_to_array
  calls = [0]

  def poisoned(*args, **kwargs):
    calls[0] += 1
    array = crop(*args, **kwargs)
    # 1 sample image, then 2 steps of 4 images; step 3 gets a NaN.
    return array * np.nan if calls[0] > 1 + 2 * 4 else array

  monkeypatch.setattr(data, "crop_to_array", poisoned)
  workdir = str(tmp_path / "run")
  with pytest.raises(training.NonFiniteLossError,
                     match=r"non-finite .*mse.* at step 3 in phase 'generator'.*"
                           r"last good checkpoint is 2"):
    training.train(config, workdir, devices=ONE_DEVICE, progress=False)
  mngr = checkpoint.manager(os.path.join(workdir, "checkpoints"), read_only=True)
  assert mngr.all_steps() == [2]


@pytest.mark.slow
def test_bad_configs_are_refused_before_any_work(tmp_path):
  cases = [
      (["--config.train.batch_sizes=8"], "batch_sizes"),
      (["--config.train.batch_size=0"], "train.batch_size must be >= 1"),
      (["--config.mask.kind=circles"], "mask kind must be one of"),
      (["--config.data.source=folder", f"--config.data.path={tmp_path}/none"],
       f"image folder not found: {tmp_path}/none"),
  ]
  for overrides, message in cases:
    result = run_subprocess(["train.py", "--config", "tests/tiny_config.py",
                             f"--workdir={tmp_path}/w"] + overrides)
    assert result.returncode != 0, overrides
    assert message in result.stderr, (overrides, result.stderr[-1500:])
    # Nothing is left behind: no workdir, not even a train.lock.
    assert not os.path.exists(tmp_path / "w"), overrides
  result = run_subprocess(["train.py", "--config", "configs/nope.py"])
  assert result.returncode != 0 and "nope.py" in result.stderr


def test_a_run_refused_after_taking_the_lock_leaves_no_lock(tmp_path):
  config = tiny_config.get_config()
  config.data.source = "folder"
  config.data.path = str(tmp_path / "empty")
  os.makedirs(tmp_path / "empty")
  with pytest.raises(ValueError):
    training.train(config, str(tmp_path / "new"), devices=ONE_DEVICE,
                   progress=False)
  assert not os.path.exists(tmp_path / "new")
  os.makedirs(tmp_path / "mine")
  (tmp_path / "mine" / "notes.txt").write_text("kept")
  with pytest.raises(ValueError):
    training.train(config, str(tmp_path / "mine"), devices=ONE_DEVICE,
                   progress=False)
  assert os.listdir(tmp_path / "mine") == ["notes.txt"]


def test_parse_names_the_section():
  config = tiny_config.get_config()
  config.unlock()
  config.model.depth = 3
  with pytest.raises(ValueError, match=r"config.model: unknown GeneratorConfig "
                                       r"fields \['depth'\]"):
    config_lib.parse(config)


@pytest.mark.slow
def test_resuming_with_another_architecture_is_refused(tmp_path):
  config = tiny_config.get_config()
  config.train.phase_steps = (2, 0, 0)
  training.train(config, str(tmp_path), devices=ONE_DEVICE, progress=False)
  config.model.width = 0.25
  with pytest.raises(ValueError, match="of another model: config.model"):
    training.train(config, str(tmp_path), devices=ONE_DEVICE, progress=False)
  config.model.width = 0.125
  config.optim.ema_decay = 0.99  # the state would hold a 'g_ema' it lacks
  with pytest.raises(ValueError, match="without a moving average"):
    training.train(config, str(tmp_path), devices=ONE_DEVICE, progress=False)
  config.optim.ema_decay = 0.0
  config.data.image_size = 64  # the global discriminator's shape changes
  with pytest.raises(ValueError, match="data.image_size 32, the config asks "
                                       "for 64"):
    training.train(config, str(tmp_path), devices=ONE_DEVICE, progress=False)


@pytest.mark.slow
def test_resuming_after_a_data_change_restarts_only_the_data_order(
    tmp_path, capsys):
  config = tiny_config.get_config()
  config.train.phase_steps = (2, 0, 0)
  training.train(config, str(tmp_path), devices=ONE_DEVICE, progress=False)
  config.data.seed = 7
  config.train.phase_steps = (3, 0, 0)
  record = training.train(config, str(tmp_path), devices=ONE_DEVICE,
                          progress=False)
  err = capsys.readouterr().err
  assert "config.data changed since checkpoint 2 (seed: 0 -> 7)" in err
  assert f"resumed from {tmp_path}/checkpoints/2" in err
  assert record["step"] == 3


@pytest.mark.slow
def test_a_new_run_starts_from_the_generator_of_init_from(
    tmp_path, tiny_checkpoint, capsys):
  trained, model, _, _, _, _ = weights.load_any(tiny_checkpoint)
  file = str(tmp_path / "trained.msgpack")
  weights.save(file, trained, model)
  config = tiny_config.get_config()
  config.optim.ema_decay = 0.99
  config.train.phase_steps = (0, 2, 0)  # discriminators only: G unchanged
  config.train.init_from = file
  workdir = str(tmp_path / "run")
  training.train(config, workdir, devices=ONE_DEVICE, progress=False)
  assert f"starts from the generator of {file}" in capsys.readouterr().err
  got, _, _, _ = checkpoint.load_generator(workdir)  # the moving average
  random = steps.init_state(jax.random.key(config.seed), 32, model,
                            config_lib.parse(config).discriminator,
                            *steps.make_optimizers(config.optim))["g"]
  for want, have in zip(jax.tree.leaves(trained), jax.tree.leaves(got)):
    np.testing.assert_array_equal(np.asarray(have), want)
  assert any(not np.array_equal(a, b) for a, b in
             zip(jax.tree.leaves(trained), jax.tree.leaves(random)))
  # A resumed run continues from its checkpoint, not from init_from.
  config.train.phase_steps = (1, 2, 0)
  config.train.init_from = str(tmp_path / "trained.msgpack")
  training.train(config, workdir, devices=ONE_DEVICE, progress=False)
  assert "starts from" not in capsys.readouterr().err
  # Another architecture, or no file, is refused by name before any work.
  config = tiny_config.get_config()
  config.model.width = 0.25
  config.train.init_from = file
  with pytest.raises(ValueError, match=r"train.init_from: .*trained.msgpack "
                                       r"holds a generator of .*width=0.125"):
    training.train(config, str(tmp_path / "other"), devices=ONE_DEVICE,
                   progress=False)
  config.train.init_from = str(tmp_path / "missing.msgpack")
  with pytest.raises(ValueError, match="train.init_from: no weights file or "
                                       "run at .*missing.msgpack"):
    config_lib.parse(config)


def test_metrics_log_drops_records_past_the_resumed_step(tmp_path):
  log = reporting.MetricsLog(str(tmp_path), tensorboard=False)
  for step in range(1, 6):
    log.write(step, {"loss": np.float32(step), "skipped_images": 0})
  log.close()
  log = reporting.MetricsLog(str(tmp_path), start=3, tensorboard=False)
  log.write(4, {"loss": 40.0})
  assert log.last("skipped_images") == 0 and log.last("nope", 5) == 5
  records = reporting.read_metrics(str(tmp_path / "metrics.jsonl"))
  assert [(r["step"], r["loss"]) for r in records] == [
      (1, 1.0), (2, 2.0), (3, 3.0), (4, 40.0)]
  assert records[0]["skipped_images"] == 0 and isinstance(
      records[0]["skipped_images"], int)


def test_a_metrics_line_cut_short_by_a_kill_is_skipped(tmp_path):
  path = tmp_path / "metrics.jsonl"
  path.write_text('{"step": 1, "loss": 1.0}\n{"step": 2, "lo')
  assert reporting.read_metrics(str(path)) == [{"step": 1, "loss": 1.0}]


def test_sample_grid_layout():
  image = np.full((2, 4, 5, 3), 0.5, np.float32)
  mask = np.ones((2, 4, 5, 1), np.float32)
  mask[:, 1:3, 1:3] = 0
  output = np.zeros_like(image)
  grid = reporting.sample_grid(image, mask, output, pad=1)
  assert grid.shape == (2 * 5 + 1, 4 * 6 + 1, 3) and grid.dtype == np.uint8
  row = grid[1:5]
  masked, out, filled, truth = (row[:, 1 + j * 6:6 + j * 6] for j in range(4))
  assert masked[1, 1, 0] == 255 and masked[0, 0, 0] == 128  # hole shown white
  assert out.max() == 0
  assert filled[1, 1, 0] == 0 and filled[0, 0, 0] == 128
  assert (truth == 128).all()


def test_init_from_adds_a_refinement_head_to_a_generator_without_one(tmp_path):
  model = generator.GeneratorConfig(width=0.125)
  trained = generator.init_generator(jax.random.key(3), model)
  file = str(tmp_path / "unet.msgpack")
  weights.save(file, trained, model)
  with_head = dataclasses.replace(model, refine=4)
  initial = training.initial_generator(file, with_head)
  assert initial["name"].endswith("with a new refinement head")
  got = initial["variables"]
  assert sorted(got["params"]) == sorted(generator.layer_names(with_head))
  for name in generator.layer_names(model):
    for a, b in zip(jax.tree.leaves(trained["params"][name]),
                    jax.tree.leaves(got["params"][name])):
      np.testing.assert_array_equal(a, b)
  image = jax.random.uniform(jax.random.key(4), (1, 32, 32, 3))
  mask = np.ones((1, 32, 32, 1), np.float32)
  mask[:, 5:20, 9:30] = 0
  np.testing.assert_array_equal(
      generator.apply_generator(got, image, mask, config=with_head),
      generator.apply_generator(trained, image, mask, config=model))
  # Any other difference is still refused, and a head is never dropped.
  with pytest.raises(ValueError, match="holds a generator of"):
    training.initial_generator(file, dataclasses.replace(with_head, width=0.25))
  weights.save(file, got, with_head)
  with pytest.raises(ValueError, match="holds a generator of"):
    training.initial_generator(file, model)


def test_a_checkpoint_written_before_a_model_field_existed_resumes():
  """An older checkpoint's config lacks fields added since (here
  model.refine): they count as their defaults; a real change still refuses."""
  current = {"model": {"width": 0.5, "refine": 0}, "discriminator": {}}
  old = {"model": {"width": 0.5}, "discriminator": {}}
  training._check_resumable(old, current, "runs/x/checkpoints")
  with pytest.raises(checkpoint.IncompatibleCheckpointError,
                     match="are of another model: config.model"):
    training._check_resumable(old, {**current, "model": {"width": 0.5,
                                                         "refine": 8}},
                              "runs/x/checkpoints")


@pytest.mark.slow
def test_unreadable_training_files_are_counted_once_each(tmp_path, capsys):
  """Two broken files among three photographs, met again and again over 12
  draws: the count is of files (2), in the run's last line and in
  metrics.jsonl, not of the draws they were replaced in."""
  photos = tmp_path / "photos"
  os.makedirs(photos)
  for i, name in enumerate(sorted(os.listdir(data.demo_folder()))[:3]):
    with open(os.path.join(data.demo_folder(), name), "rb") as f:
      (photos / f"a{i}_{name}").write_bytes(f.read())
  (photos / "b_broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not a picture")
  (photos / "c_empty.jpg").write_bytes(b"")
  config = tiny_config.get_config()
  config.data.source = "folder"
  config.data.path = str(photos)
  config.data.test_path = data.demo_folder()  # all five files train
  config.train.phase_steps = (3, 0, 0)
  config.train.batch_size = 4
  workdir = str(tmp_path / "run")
  training.train(config, workdir, devices=ONE_DEVICE, progress=False)
  assert "skipped 2 unreadable image files" in capsys.readouterr().err
  with open(os.path.join(workdir, "metrics.jsonl")) as f:
    records = [__import__("json").loads(line) for line in f]
  assert records[-1]["skipped_images"] == 2


@pytest.mark.slow
def test_the_moving_average_is_the_model_everywhere_the_readme_says(
    tmp_path):
  """After generator steps the moving average differs from the trained
  weights; evaluation and inpainting (load_generator, weights.load_any,
  export) and a new run's init_from all take the moving average."""
  import warnings
  import orbax.checkpoint as ocp
  config = tiny_config.get_config()
  config.train.phase_steps = (3, 0, 0)
  config.optim.ema_decay = 0.9
  workdir = str(tmp_path / "run")
  training.train(config, workdir, devices=ONE_DEVICE, progress=False)
  mngr = ocp.CheckpointManager(
      os.path.join(workdir, "checkpoints"), item_names=("state",),
      item_handlers={"state": ocp.PyTreeCheckpointHandler()})
  with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # orbax: sharding read from the file
    raw = mngr.restore(3, args=ocp.args.Composite(
        state=ocp.args.PyTreeRestore()))["state"]
  mngr.close()
  ema, trained = raw["g_ema"], raw["g"]
  assert not np.allclose(ema["params"]["dec1"]["conv"]["kernel"],
                         trained["params"]["dec1"]["conv"]["kernel"])

  def is_ema(variables):
    for want, have in zip(jax.tree.leaves(ema), jax.tree.leaves(variables)):
      np.testing.assert_array_equal(np.asarray(have), np.asarray(want))

  is_ema(checkpoint.load_generator(workdir)[0])
  is_ema(weights.load_any(workdir)[0])
  exported = str(tmp_path / "g.msgpack")
  subprocess.run([sys.executable, "-m", "pconvgan.export", "--ckpt", workdir,
                  "--out", exported], cwd=ROOT, check=True,
                 capture_output=True)
  is_ema(weights.load(exported)[0])
  model = config_lib.parse(config).model
  is_ema(training.initial_generator(workdir, model)["variables"])


@pytest.mark.slow
def test_ckpt_takes_a_workdir_its_checkpoints_folder_or_one_step(straight_run):
  """What the README says --ckpt takes: a workdir or its checkpoints/ folder
  (the newest step) or one step's folder (that step, not the newest)."""
  newest = weights.load_any(straight_run)
  assert newest[4] == 8
  assert weights.load_any(os.path.join(straight_run, "checkpoints"))[4] == 8
  older = weights.load_any(os.path.join(straight_run, "checkpoints", "5"))
  assert older[4] == 5 and older[3].endswith("@5")
  assert older[5] == straight_run
  diffs = [float(np.abs(a - b).max()) for a, b in zip(
      jax.tree.leaves(newest[0]), jax.tree.leaves(older[0]))]
  assert max(diffs) > 0


def test_tensorboard_events_are_written_without_importing_torch(tmp_path):
  """tensorboardX imports PyTorch where it is installed (seconds of start-up
  for nothing); the metrics log keeps it out and a later import still
  works. Fresh interpreters: this process may have imported either."""
  code = f"""
import importlib.util, os, sys
import numpy as np
from pconvgan import reporting
log = reporting.MetricsLog({str(tmp_path)!r})
log.write(1, {{"mse": 0.5}})
log.image(1, "samples", np.zeros((4, 4, 3), np.float32))
log.close()
assert "torch" not in sys.modules, "tensorboardX imported torch"
assert os.listdir(os.path.join({str(tmp_path)!r}, "tensorboard"))
if importlib.util.find_spec("torch") is not None:
  import torch  # a real import after ours, and tensorboardX takes its tensors
  log = reporting.MetricsLog({str(tmp_path / "again")!r})
  log._writer.add_scalar("t", torch.ones(()), 1)
  log.close()
  print("torch")
print("ok")
"""
  result = subprocess.run([sys.executable, "-c", code], capture_output=True,
                          text=True, timeout=120)
  assert result.returncode == 0 and result.stdout.split()[-1] == "ok", (
      result.stderr[-2000:])
  assert tensorboard_tags(str(tmp_path)) == {"mse": {1}, "samples": {1}}
  if "torch" not in result.stdout:
    pytest.skip("events written; without torch installed, the guard's point "
                "is not tested")
