"""Test set-up, before JAX starts its backend.

- Two simulated CPU devices, so that data-parallel steps can be compared with
  one-device steps in-process.
- float32's highest matmul precision: the numerical comparisons are made at
  float32 tolerances, which a GPU's default (TF32 products) misses.
- XLA's CPU backend without LLVM's optimisations: compiling, not running,
  is what the tests spend their time on.
- A compilation cache shared by the session, its pytest-xdist workers and
  the subprocesses they start (through the environment): tests that train
  the same tiny model in several processes compile each step once. Removed
  when the session ends.
- Under pytest-xdist, slow tests run first (pytest_collection_modifyitems).
"""

import atexit
import fcntl
import os
import shutil
import tempfile

# Made by the session's first process (pytest, or pytest-xdist's
# controller), inherited by its workers and subprocesses, removed at its exit.
_CACHE = os.environ.get("PCONVGAN_TEST_XLA_CACHE")
if not _CACHE:
  _CACHE = tempfile.mkdtemp(prefix="pconvgan-test-xla-cache-")
  os.environ["PCONVGAN_TEST_XLA_CACHE"] = _CACHE
  atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)
os.environ["JAX_NUM_CPU_DEVICES"] = "2"
# The tests compile many small programs and run each a few times: without
# LLVM's optimisations XLA's CPU backend compiles them about three times
# faster (the subprocesses inherit it). Production code keeps XLA's defaults.
_FAST_COMPILE = ("--xla_backend_optimization_level=0",
                 "--xla_llvm_disable_expensive_passes=true")
os.environ["XLA_FLAGS"] = " ".join(filter(None, [
    os.environ.get("XLA_FLAGS"),
    *(f for f in _FAST_COMPILE if f not in os.environ.get("XLA_FLAGS", ""))]))
os.environ["JAX_COMPILATION_CACHE_DIR"] = _CACHE
os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"
os.environ["JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES"] = "0"

import jax  # pylint: disable=wrong-import-position

jax.config.update("jax_num_cpu_devices", 2)
jax.config.update("jax_default_matmul_precision", "highest")


import pytest  # pylint: disable=wrong-import-position


def _built_once(tmp_path_factory, name, build):
  """A directory that ``build(path)`` fills once per test session: under
  pytest-xdist the first worker to ask builds it and the others wait for
  it (a file lock in the session's temporary directory), instead of each
  training the same tiny model."""
  root = tmp_path_factory.getbasetemp()
  if os.environ.get("PYTEST_XDIST_WORKER"):
    root = root.parent  # the session's, shared by its workers
  path = root / name
  with open(root / f"{name}.lock", "w", encoding="utf-8") as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)
    if not (root / f"{name}.built").exists():
      shutil.rmtree(path, ignore_errors=True)
      path.mkdir()
      build(str(path))
      (root / f"{name}.built").touch()
  return str(path)


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory):
  """A train.py workdir holding a one-step checkpoint of a tiny model."""
  import tiny_config  # pylint: disable=import-outside-toplevel
  from pconvgan import training  # pylint: disable=import-outside-toplevel
  config = tiny_config.get_config()
  config.train.phase_steps = (1, 0, 0)
  return _built_once(tmp_path_factory, "tiny_run", lambda workdir: training.train(
      config, workdir, devices=jax.devices()[:1], progress=False))


@pytest.fixture(scope="session")
def straight_run(tmp_path_factory):
  """A train.py workdir of an uninterrupted tiny run (tiny_config: 8 steps,
  checkpoints 5, 6 and 8 kept), shared by the session's tests: tests that
  change it work on a copy."""
  import tiny_config  # pylint: disable=import-outside-toplevel
  from pconvgan import training  # pylint: disable=import-outside-toplevel
  return _built_once(tmp_path_factory, "straight_run",
                     lambda workdir: training.train(
                         tiny_config.get_config(), workdir,
                         devices=jax.devices()[:1], progress=False))


def pytest_collection_modifyitems(config, items):
  """Under pytest-xdist, slow tests first: it gives each worker a contiguous
  share of the list and balances by stealing from the ends of the queues,
  so long tests at the end would keep one core busy after the other has
  finished. In one process (-n 0, the mutation runs' -x) the order stays."""
  if hasattr(config, "workerinput") or config.getoption("numprocesses", None):
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
