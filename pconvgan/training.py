"""The training loop: three phases, data parallelism, checkpoints, resume, logs.

``train(config, workdir)`` validates the whole config (``pconvgan.config``),
builds the data loaders (which check every image path), then resumes from the latest checkpoint in
``workdir/checkpoints`` if there is one, and runs the phases of
``config.train.phase_steps`` to the end.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from typing import Any

import jax
import numpy as np
from tqdm import tqdm

from pconvgan import checkpoint
from pconvgan import checks
from pconvgan import config as config_lib
from pconvgan import data
from pconvgan import generator
from pconvgan import reporting
from pconvgan import steps
from pconvgan import stopping
from pconvgan import weights
from pconvgan import workdir as workdir_lib

# Config sections that must match a checkpoint's for it to be resumed.
ARCHITECTURE = ("model", "discriminator")


class NonFiniteLossError(RuntimeError):
  """A loss became inf or NaN; the run stopped before saving that state."""


def _check_resumable(saved: dict, current: dict, directory: str) -> None:
  """Refuses a checkpoint of another model (IncompatibleCheckpointError)."""
  ema = [cfg.get("optim", {}).get("ema_decay", 0) > 0 for cfg in (saved, current)]
  if ema[0] != ema[1]:
    raise checkpoint.IncompatibleCheckpointError(
        f"the checkpoints in {directory} were trained "
        f"{'with' if ema[0] else 'without'} a moving average of the generator "
        f"(optim.ema_decay), the config asks {'for' if ema[1] else 'for none'}; "
        f"use another --workdir or the same setting")
  sizes = [cfg.get("data", {}).get("image_size") for cfg in (saved, current)]
  if sizes[0] != sizes[1]:
    raise checkpoint.IncompatibleCheckpointError(
        f"the checkpoints in {directory} are of data.image_size {sizes[0]}, "
        f"the config asks for {sizes[1]} (the global discriminator's shape "
        f"depends on it); use another --workdir or the same size")
  for name in ARCHITECTURE:
    # Parsed, so that a field added since the checkpoint was written counts
    # as its default.
    cls = config_lib.SECTIONS[name]
    if (checks.as_config(cls, dict(saved.get(name) or {}))
        != checks.as_config(cls, dict(current.get(name) or {}))):
      raise checkpoint.IncompatibleCheckpointError(
          f"the checkpoints in {directory} are of another model: config.{name} "
          f"was {saved.get(name)}, is now {current.get(name)}; use another "
          f"--workdir or the same config")


def changed_data_fields(saved: dict, current: dict) -> list[str]:
  """The config.data fields that differ from a checkpoint's ('field: old ->
  new'); any of them makes the saved data iterator state meaningless."""
  old, new = saved.get("data", {}), current.get("data", {})
  return [f"{k}: {old.get(k)!r} -> {new.get(k)!r}"
          for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]


def _resume(mngr, directory: str, config_json: dict, abstract_state: Any,
            data_iter: Any) -> tuple[int | None, Any]:
  """(step, state) of the newest intact checkpoint (``(None, None)`` if there
  is none). Damaged newer ones are named and set aside; after a change of
  config.data the data order starts afresh, with one line saying so."""
  if not mngr.all_steps():
    return None, None
  def attempt(step):
    saved = checkpoint.saved_config(mngr, step)
    _check_resumable(saved, config_json, directory)
    changed = changed_data_fields(saved, config_json)
    return checkpoint.restore(mngr, step, abstract_state,
                              None if changed else data_iter), changed

  step, (state, changed), damaged = checkpoint.newest_intact(
      directory, mngr.all_steps(), attempt)
  if damaged and jax.process_index() == 0:
    for s in damaged:
      print(f"pconvgan: moved damaged checkpoint {s} to "
            f"{checkpoint.set_aside(directory, s)}", file=sys.stderr)
  if damaged:
    mngr.reload()
  if changed:
    print(f"pconvgan: config.data changed since checkpoint {step} "
          f"({'; '.join(changed)}): the model and optimisers resume, the "
          "data order starts afresh", file=sys.stderr)
  print(f"resumed from {directory}/{step}", file=sys.stderr)
  return step, state


def _device_batch(batch: dict, sharding) -> dict:
  return {k: jax.make_array_from_process_local_data(sharding, batch[k])
          for k in ("image", "mask")}


def _metrics_text(metrics: dict, images_per_s: float | None = None) -> str:
  keys = ("mse", "l1_hole", "d_loss", "g_loss")
  text = " ".join(f"{k}={metrics[k]:.4g}" for k in keys if k in metrics)
  return text + (f" img/s={images_per_s:.1f}" if images_per_s else "")


class _Progress:
  """The progress bar, the smoothed images/s and the metrics records."""

  def __init__(self, log, t: config_lib.TrainConfig, step: int, total: int,
               boundaries: set, enabled: bool):
    self.log, self.t, self.boundaries = log, t, boundaries
    self.bar = tqdm(total=total, initial=step, unit="step", disable=not enabled,
                    dynamic_ncols=True, file=sys.stderr, mininterval=1.0)
    self.record, self.seen = {}, 0
    self.tick = self.last = time.perf_counter()
    self.rate = None

  def update(self, done: int, phase: str, metrics: dict, skipped: int) -> None:
    self.seen += self.t.batch_size
    now = time.perf_counter()
    current = self.t.batch_size / max(now - self.last, 1e-9)
    self.rate = current if self.rate is None else 0.9 * self.rate + 0.1 * current
    self.last = now
    self.bar.set_description(phase, refresh=False)
    self.bar.set_postfix_str(_metrics_text(metrics, self.rate), refresh=False)
    self.bar.update(1)
    if done % self.t.log_every == 0 or done in self.boundaries:
      self.record = dict(metrics, phase=phase,
                         images_per_s=self.seen / (now - self.tick),
                         skipped_images=skipped)
      self.log.write(done, self.record)
      self.seen, self.tick = 0, now


def train(config: Any, workdir: str, *, devices=None, progress: bool = True
          ) -> dict:
  """Runs (or resumes) training; returns the last metrics record.

  Holds the workdir's lock for the whole run (WorkdirBusyError if another
  live run holds it). SIGINT / SIGTERM stop it after a checkpoint of the
  current step (raising stopping.Stopped).
  """
  run = config_lib.parse(config)
  made_dir = not os.path.exists(os.path.expanduser(workdir))
  path = workdir_lib.prepare(workdir)
  name = workdir_lib.lock_name(jax.process_index(), jax.process_count())
  made_lock = not os.path.exists(os.path.join(path, name))
  try:
    with workdir_lib.lock(path, name), stopping.on_signals() as stop:
      record = _train(run, checkpoint.config_to_json(config), workdir, devices,
                      progress, stop)
  except (ValueError, FileNotFoundError):
    # Refused (a bad data folder, init_from, batch size): the lock file this
    # call made goes, and the workdir too if it made it and it is empty.
    workdir_lib.remove_lock_of_refused_run(path, name, made_dir, made_lock)
    raise
  saved = record.pop("saved_step")
  if stop and record["step"] < sum(run.train.phase_steps):
    # Raised here, not in the loop, so that its traceback holds none of the
    # loop's frames (their batches live in the loader's shared memory).
    raise stopping.Stopped(stop.signal, saved, f"{workdir}/checkpoints/{saved}"
                           if saved else "nothing (no step had run)")
  return record


def _train(run: config_lib.RunConfig, config_json: dict, workdir: str, devices,
           progress: bool, stop: stopping.StopRequest) -> dict:
  t = run.train
  initial = initial_generator(t.init_from, run.model)
  mesh = steps.make_mesh(devices)
  n_devices = mesh.devices.size
  if t.batch_size % n_devices:
    raise ValueError(f"train.batch_size {t.batch_size} must be a multiple of the "
                     f"{n_devices} devices")
  train_loader, test_loader = data.loaders_from_config(
      run.data, run.mask, t.batch_size, eval_batch_size=t.sample_count)
  test_iter = iter(test_loader)
  sample = next(test_iter)
  data.close_iterator(test_iter)
  data_iter = iter(train_loader)
  try:
    return _loop(run, config_json, workdir, progress, stop, mesh, data_iter,
                 sample, initial)
  finally:
    data.close_iterator(data_iter)


def initial_generator(path: str, model: generator.GeneratorConfig
                      ) -> dict | None:
  """{'variables', 'name'} of the generator of ``train.init_from`` (None if
  it is empty); refuses weights of another architecture than ``model``,
  naming both, except that a generator without a refinement head gains the
  head ``model`` asks for."""
  if not path:
    return None
  variables, config, _, _, step, _ = weights.load_any(os.path.expanduser(path))
  name = f"{path} (step {step})"
  if config != model and config == dataclasses.replace(model, refine=0):
    # A generator without the refinement head gains a fresh one (whose last
    # layer is zero: the output is unchanged).
    head = generator.init_refine(jax.random.key(0), model.refine)
    params = dict(variables["params"], **head)
    return {"variables": dict(variables, params=params),
            "name": f"{name} with a new refinement head"}
  if config != model:
    raise ValueError(f"train.init_from: {path} holds a generator of {config}, "
                     f"the config's model is {model}")
  return {"variables": variables, "name": name}


def _loop(run: config_lib.RunConfig, config_json: dict, workdir: str,
          progress: bool, stop: stopping.StopRequest, mesh, data_iter, sample,
          initial: dict | None = None) -> dict:
  """Resumes from the newest intact checkpoint (else starts from ``initial``
  generator variables, if given) and runs the phases."""
  t = run.train

  g_tx, d_tx = steps.make_optimizers(run.optim)
  replicated, batch_sharding = steps.shardings(mesh)
  state = steps.init_state(jax.random.key(run.seed), run.data.image_size,
                           run.model, run.discriminator, g_tx, d_tx,
                           ema=run.optim.ema_decay > 0)
  state = jax.device_put(state, replicated)
  step_fns = steps.make_steps(mesh, g_tx, d_tx, run.model, run.loss,
                              run.optim.ema_decay, run.optim)
  infer = jax.jit(lambda g, x, m: generator.apply_generator(g, x, m,
                                                            config=run.model))

  directory = f"{workdir}/checkpoints"
  mngr = checkpoint.manager(directory, t.keep_checkpoints)
  start, restored = _resume(mngr, directory, config_json,
                            checkpoint.abstract_like(state, replicated),
                            data_iter)
  if restored is not None:
    state = restored
  elif initial is not None:
    print(f"pconvgan: a new run starts from the generator of "
          f"{initial['name']}", file=sys.stderr)
    state = jax.device_put(
        steps.with_generator(state, initial["variables"], g_tx), replicated)
  step = int(start or 0)
  total = sum(t.phase_steps)
  boundaries = {t.phase_steps[0], t.phase_steps[0] + t.phase_steps[1], total}
  # One process writes the records, samples and progress of a multi-process
  # run; every process takes part in each computation.
  primary = jax.process_index() == 0
  log = reporting.MetricsLog(workdir, start=step, write=primary)
  # Unreadable training files by index; their count goes on across resumes
  # (the same files are met again after one).
  unreadable: set[int] = set()
  resumed_skipped = int(log.last("skipped_images", 0))
  skipped = resumed_skipped
  bar = _Progress(log, t, step, total, boundaries, progress and primary)

  # Every process holds the same sample crops: replicated on the mesh.
  sample_in = _device_batch(sample, replicated)

  def write_samples(step):
    out = infer(state.get("g_ema", state["g"]), sample_in["image"],
                sample_in["mask"])
    if not primary:
      return
    grid = reporting.sample_grid(sample["image"], sample["mask"],
                                 np.asarray(out.addressable_data(0)))
    reporting.save_png(f"{workdir}/samples/step_{step:07d}.png", grid)
    log.image(step, "samples", grid)

  def settle(done, phase, metrics):
    """Reads back step ``done``'s metrics: checks, progress bar, log."""
    metrics = {k: float(v) for k, v in jax.device_get(metrics).items()}
    bad = [k for k, v in metrics.items() if not np.isfinite(v)]
    if bad:
      raise NonFiniteLossError(
          f"non-finite {', '.join(bad)} at step {done} in phase "
          f"'{phase}' ({_metrics_text(metrics)}); stopped without saving it: "
          f"the last good checkpoint is {mngr.latest_step()} in {directory}")
    bar.update(done, phase, metrics, skipped)

  pending = None  # (step, phase, metrics still on the device)
  saved = step
  try:
    while step < total and not stop:
      phase = steps.phase_of(step, t.phase_steps)
      try:
        batch = next(data_iter)
      except Exception:  # pylint: disable=broad-except
        if stop:  # workers signalled with the trainer (a whole job killed)
          break
        raise
      counts = np.asarray(batch["skipped"]).ravel()
      for i in np.flatnonzero(counts):  # none, nearly always
        first, n = int(batch["skipped_from"][i]), int(batch["paths"][i])
        unreadable.update((first + k) % n for k in range(int(counts[i])))
        skipped = max(resumed_skipped, len(unreadable))
      state, metrics = step_fns[phase](state, _device_batch(batch, batch_sharding))
      step += 1
      # The previous step's metrics are read only now, while the device runs
      # this one: reading them at once would leave it idle while the host
      # loads the next batch. A non-finite loss still stops the run before
      # its state is saved: samples and checkpoints settle their step first.
      if pending:
        settle(*pending)
      pending = (step, phase, metrics)
      sample_now = (t.sample_every and step % t.sample_every == 0) or step == total
      checkpoint_now = step % t.checkpoint_every == 0 or step in boundaries
      if sample_now or checkpoint_now:
        settle(*pending)
        pending = None
      if sample_now:
        write_samples(step)
      if checkpoint_now:
        checkpoint.save(mngr, step, state, data_iter, config_json)
        saved = step
    if stop and saved != step:
      if pending:
        settle(*pending)
      checkpoint.save(mngr, step, state, data_iter, config_json)
      saved = step
  except BaseException:
    bar.bar.close()
    checkpoint.finish(mngr, check=False)
    log.close()
    raise
  bar.bar.close()
  checkpoint.finish(mngr)
  log.close()
  if skipped:
    print(f"skipped {skipped} unreadable image files (named in the warnings "
          "above)", file=sys.stderr)
  return dict(bar.record, step=step, saved_step=saved)
