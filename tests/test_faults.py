"""What a training run promises when things go wrong (README, "Guarantees").

Each test breaks a tiny run the way the world does: kill -9 at a random
moment and in the middle of a save, a damaged newest checkpoint, a second run
on the same workdir, SIGTERM and Ctrl-C, a disk that stops taking writes.
"""

import os
import random
import shutil
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

import tiny_config
from pconvgan import checkpoint
from pconvgan import reporting
from pconvgan import training
from pconvgan import workdir as workdir_lib

pytestmark = pytest.mark.slow
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ONE_DEVICE = jax.devices()[:1]
# tiny_config in a fresh process that SIGKILLs itself just before step
# KILL_AT (1-based) would run, or just after it starts its SAVE_KILL-th save
# (so mid-save: the save is asynchronous).
KILLER = """
import os, signal, sys
sys.path.insert(0, {tests!r})
import jax
import tiny_config
from pconvgan import checkpoint, steps, training
calls, saves = [0], [0]
make_steps, save = steps.make_steps, checkpoint.save
def killing_make_steps(*args, **kwargs):
  fns = make_steps(*args, **kwargs)
  def wrap(fn):
    def step(state, batch):
      calls[0] += 1
      if calls[0] == {kill_at}:
        os.kill(os.getpid(), signal.SIGKILL)
      return fn(state, batch)
    return step
  return {{name: wrap(fn) for name, fn in fns.items()}}
def killing_save(*args, **kwargs):
  save(*args, **kwargs)
  saves[0] += 1
  if saves[0] == {save_kill}:
    os.kill(os.getpid(), signal.SIGKILL)
steps.make_steps, checkpoint.save = killing_make_steps, killing_save
training.train(tiny_config.get_config(), {workdir!r}, progress=False,
               devices=jax.devices()[:1])
"""


def losses_by_step(workdir):
  records = reporting.read_metrics(os.path.join(workdir, "metrics.jsonl"))
  steps = [r["step"] for r in records]
  assert len(steps) == len(set(steps)), f"steps logged twice: {steps}"
  return {r["step"]: {k: v for k, v in r.items()
                      if k not in ("images_per_s", "phase")} for r in records}


def assert_same_losses(got, want):
  assert sorted(got) == sorted(want)
  for step in want:
    for k, v in want[step].items():
      np.testing.assert_allclose(got[step][k], v, rtol=1e-5,
                                 err_msg=f"{k} at step {step}")


def python(args, **kwargs):
  args = ([sys.executable, "-c", args] if isinstance(args, str)
          else [sys.executable] + args)
  return subprocess.run(args, cwd=ROOT, capture_output=True, text=True,
                        timeout=300, **kwargs)


def train_cli(workdir, *overrides):
  return [sys.executable, "train.py", "--config", "tests/tiny_config.py",
          f"--workdir={workdir}", *overrides]


def damage(step_dir):
  """Truncates every file of a checkpoint to zero, as a power cut can."""
  for root, _, names in os.walk(step_dir):
    for name in names:
      open(os.path.join(root, name), "w").close()


def children(pid):
  """Pids of the live child processes of ``pid`` (Linux /proc)."""
  found = []
  for task in os.listdir(f"/proc/{pid}/task"):
    with open(f"/proc/{pid}/task/{task}/children") as f:
      found += [int(p) for p in f.read().split()]
  return found


def alive(pid):
  try:
    with open(f"/proc/{pid}/stat") as f:
      return f.read().split()[2] != "Z"
  except FileNotFoundError:
    return False


def assert_all_end(pids, timeout=20):
  """Every process of ``pids`` ends within ``timeout`` s (the resource
  tracker takes a moment to clean up after its parent)."""
  deadline = time.time() + timeout
  while [p for p in pids if alive(p)] and time.time() < deadline:
    time.sleep(0.2)
  assert not [p for p in pids if alive(p)], "processes left behind"


def wait_for_step(workdir, process, timeout=240):
  """Waits until the run in ``workdir`` has logged a step."""
  path = os.path.join(workdir, "metrics.jsonl")
  deadline = time.time() + timeout
  while time.time() < deadline:
    if process.poll() is not None:
      raise AssertionError(f"run ended early: {process.stderr.read()[-2000:]}")
    if reporting.read_metrics(path):
      return
    time.sleep(0.2)
  raise AssertionError("no step logged in time")


@pytest.fixture
def straight(straight_run):
  return straight_run


def test_kill_9_at_a_random_step_and_mid_save_resumes_exactly(straight,
                                                              tmp_path):
  seed = int(time.time())
  kill_at = random.Random(seed).randint(2, 8)
  workdir = str(tmp_path / "killed")
  code = dict(tests=os.path.join(ROOT, "tests"), workdir=workdir)
  result = python(KILLER.format(kill_at=kill_at, save_kill=-1, **code))
  assert result.returncode == -9, (seed, result.stderr[-2000:])
  result = python(KILLER.format(kill_at=-1, save_kill=1, **code))
  assert result.returncode == -9, (seed, result.stderr[-2000:])
  latest = checkpoint.manager(os.path.join(workdir, "checkpoints"),
                              read_only=True).latest_step()
  result = python(KILLER.format(kill_at=-1, save_kill=-1, **code))
  assert result.returncode == 0, (seed, result.stderr[-2000:])
  if latest is not None:  # else both kills came before any save committed
    assert f"resumed from {workdir}/checkpoints/{latest}" in result.stderr, seed
  assert_same_losses(losses_by_step(workdir), losses_by_step(straight))


def test_a_damaged_newest_checkpoint_is_skipped_and_set_aside(
    straight, tmp_path, capsys):
  workdir = str(tmp_path / "run")
  shutil.copytree(straight, workdir)
  directory = os.path.join(workdir, "checkpoints")
  damage(os.path.join(directory, "8"))
  # Inference (eval.py, inpaint_photos) falls back, naming the damaged one.
  _, _, _, step = checkpoint.load_generator(workdir)
  assert step == 6
  assert f"checkpoint {directory}/8 is damaged" in capsys.readouterr().err
  # The lock file of the finished run is there; its lock is free: taken over.
  assert os.path.exists(os.path.join(workdir, "train.lock"))
  training.train(tiny_config.get_config(), workdir, devices=ONE_DEVICE,
                 progress=False)
  err = capsys.readouterr().err
  assert f"resumed from {directory}/6" in err
  assert os.path.isdir(os.path.join(workdir, "damaged_checkpoints", "8"))
  assert_same_losses(losses_by_step(workdir), losses_by_step(straight))
  # With every checkpoint damaged, nothing is silently started afresh.
  for name in os.listdir(directory):
    damage(os.path.join(directory, name))
  with pytest.raises(ValueError, match="no intact checkpoint in"):
    training.train(tiny_config.get_config(), workdir, devices=ONE_DEVICE,
                   progress=False)


def test_a_workdir_in_use_is_refused_by_name(tmp_path):
  workdir = workdir_lib.prepare(str(tmp_path / "run"))
  with workdir_lib.lock(workdir):
    with pytest.raises(workdir_lib.WorkdirBusyError,
                       match=rf"in use by another training run \(pid {os.getpid()} "):
      training.train(tiny_config.get_config(), workdir, devices=ONE_DEVICE,
                     progress=False)
  assert not os.path.exists(os.path.join(workdir, "checkpoints"))
  (tmp_path / "file").write_text("")
  for bad, message in ((tmp_path / "file", "exists and is not a directory"),):
    with pytest.raises(ValueError, match=message):
      training.train(tiny_config.get_config(), str(bad), progress=False)


def test_sigterm_and_ctrl_c_save_the_step_and_leave_no_process(tmp_path):
  workdir = str(tmp_path / "run")
  long = ["--config.train.phase_steps=(100000,0,0)", "--config.data.workers=2",
          "--config.train.checkpoint_every=100000"]
  first = subprocess.Popen(train_cli(workdir, *long), cwd=ROOT, text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
  wait_for_step(workdir, first)
  # A second run on the same workdir is refused at once, by name.
  second = python(train_cli(workdir, *long)[1:])
  assert second.returncode == 1
  assert f"workdir {workdir} is in use by another training run (pid {first.pid} " \
      in second.stderr, second.stderr[-2000:]
  workers = children(first.pid)
  assert workers, "data.workers=2 should have started worker processes"
  first.send_signal(signal.SIGTERM)
  _, err = first.communicate(timeout=120)
  assert first.returncode == 128 + signal.SIGTERM, err[-2000:]
  ours = [line for line in err.splitlines() if line.startswith("train.py:")]
  assert len(ours) == 1 and ours[0].startswith(
      "train.py: stopped by SIGTERM at step "), err[-2000:]
  assert "Traceback" not in err, err[-3000:]
  step = int(ours[0].split("at step ")[1].split(";")[0])
  assert os.path.isdir(os.path.join(workdir, "checkpoints", str(step)))
  assert_all_end(workers)

  # Ctrl-C reaches the whole process group, as from a terminal.
  again = subprocess.Popen(train_cli(workdir, *long), cwd=ROOT, text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           start_new_session=True)
  path = os.path.join(workdir, "metrics.jsonl")
  deadline = time.time() + 240
  while max([r["step"] for r in reporting.read_metrics(path)] or [0]) <= step:
    assert time.time() < deadline and again.poll() is None
    time.sleep(0.2)
  workers = children(again.pid)
  os.killpg(again.pid, signal.SIGINT)
  _, err = again.communicate(timeout=120)
  assert again.returncode == 128 + signal.SIGINT, err[-2000:]
  assert f"resumed from {workdir}/checkpoints/{step}" in err
  assert "stopped by SIGINT at step" in err and "Traceback" not in err, err[-3000:]
  assert_all_end(workers)


def test_a_full_disk_stops_the_run_in_one_line_and_loses_nothing(straight,
                                                                 tmp_path):
  workdir = str(tmp_path / "run")
  shutil.copytree(straight, workdir)
  more = "--config.train.phase_steps=(3,2,5)"

  # A write past 40 KiB fails (EFBIG), as writes do on a full disk.
  command = " ".join(f"'{a}'" for a in train_cli(workdir, more))
  result = subprocess.run(["bash", "-c", f"ulimit -f 40 && exec {command}"],
                          cwd=ROOT, text=True, capture_output=True, timeout=300)
  assert result.returncode == 1, result.stderr[-2000:]
  # No traceback of ours (Orbax's threads may still log at shutdown).
  assert f'File "{ROOT}' not in result.stderr, result.stderr[-3000:]
  ours = [line for line in result.stderr.splitlines()
          if line.startswith("train.py:")]
  assert len(ours) == 1 and ours[0].startswith(
      f"train.py: error: could not write a checkpoint in {workdir}/checkpoints"
  ), result.stderr[-3000:]
  assert "The newest intact checkpoint is 8" in ours[0]
  result = python(train_cli(workdir, more)[1:])
  assert result.returncode == 0, result.stderr[-2000:]
  assert f"resumed from {workdir}/checkpoints/8" in result.stderr
  assert sorted(losses_by_step(workdir)) == list(range(1, 11))
