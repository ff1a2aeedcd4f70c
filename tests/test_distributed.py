"""When train.py starts jax.distributed, and a two-process run against one
process on one device."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from pconvgan import distributed
from pconvgan import reporting


def test_requested_only_for_several_processes():
  assert not distributed.requested({})
  assert not distributed.requested({"SLURM_NTASKS": "1"})
  assert distributed.requested({"SLURM_NTASKS": "4"})
  assert distributed.requested({"OMPI_COMM_WORLD_SIZE": "2"})
  assert distributed.requested({"JAX_COORDINATOR_ADDRESS": "host:1234"})
  assert not distributed.requested({"JAX_COORDINATOR_ADDRESS": ""})


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def _start_two_processes(workdir: str) -> list[subprocess.Popen]:
  """train.py on the tiny config as two jax.distributed processes of one CPU
  device each, talking through gloo on this machine."""
  port = _free_port()
  procs = []
  for i in range(2):
    env = dict(os.environ, JAX_COORDINATOR_ADDRESS=f"127.0.0.1:{port}",
               JAX_NUM_PROCESSES="2", JAX_PROCESS_ID=str(i),
               JAX_NUM_CPU_DEVICES="1",
               JAX_CPU_COLLECTIVES_IMPLEMENTATION="gloo")
    procs.append(subprocess.Popen(
        [sys.executable, "train.py", "--config", "tests/tiny_config.py",
         "--workdir", workdir], cwd=ROOT, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True))
  return procs


def _losses(workdir: str) -> dict:
  return {r["step"]: [r[k] for k in ("mse", "d_loss", "g_loss") if k in r]
          for r in reporting.read_metrics(os.path.join(workdir, "metrics.jsonl"))}


@pytest.mark.slow
def test_two_processes_killed_and_resumed_match_one_process(tmp_path,
                                                            straight_run):
  """Two jax.distributed processes train the tiny config, are killed (-9)
  after a checkpoint, resume, and end with the losses of one process on one
  device at every step (the session's straight run): batches, masks and
  randomness do not depend on how many processes or devices share the
  run."""
  want = _losses(straight_run)

  workdir = str(tmp_path / "two")
  procs = _start_two_processes(workdir)
  first_checkpoint = os.path.join(workdir, "checkpoints", "2", "commit_success.txt")
  deadline = time.time() + 300
  while not os.path.exists(first_checkpoint) and time.time() < deadline:
    assert all(p.poll() is None for p in procs), [p.communicate()[0][-2000:] for p in procs]
    time.sleep(0.2)
  assert os.path.exists(first_checkpoint), "no checkpoint within 300 s"
  for p in procs:
    os.killpg(p.pid, signal.SIGKILL)
    p.wait()
  procs = _start_two_processes(workdir)
  outputs = [p.communicate(timeout=400)[0] for p in procs]
  assert [p.returncode for p in procs] == [0, 0], [o[-2000:] for o in outputs]
  assert "resumed from" in outputs[0]
  got = _losses(workdir)
  assert sorted(got) == sorted(want) == list(range(1, 9))
  for step in want:
    np.testing.assert_allclose(got[step], want[step], rtol=1e-5,
                               err_msg=f"step {step}")
  with open(os.path.join(workdir, "metrics.jsonl")) as f:
    assert len([json.loads(line) for line in f]) == 8  # one writer, each step once
