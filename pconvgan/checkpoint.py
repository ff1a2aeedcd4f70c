"""Orbax checkpoints of the full training state, the data iterator and the config.

A checkpoint directory ``WORKDIR/checkpoints/<step>/`` holds three items:
``state`` (generator and discriminator parameters, batch statistics, both
optimiser states, the step), ``data`` (the grain iterator state, per process)
and ``config`` (the run's config as JSON). Saves are asynchronous and atomic:
a run killed mid-save leaves the previous checkpoint as the latest. A
checkpoint damaged after it was written (zero-length or truncated files, as a
power cut leaves them) is skipped, with one line naming it, in favour of the
newest intact one (``newest_intact``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
from typing import Any, Callable, Sequence, TypeVar

import grain
import jax
import orbax.checkpoint as ocp

ITEMS = ("state", "data", "config")
DAMAGED_FOLDER = "damaged_checkpoints"  # beside checkpoints/, see set_aside
T = TypeVar("T")


class IncompatibleCheckpointError(ValueError):
  """An intact checkpoint of another run or model: refused, never skipped."""


def manager(directory: str, keep: int = 3, *, read_only: bool = False
            ) -> ocp.CheckpointManager:
  """A CheckpointManager keeping the last ``keep`` checkpoints in ``directory``."""
  options = ocp.CheckpointManagerOptions(
      max_to_keep=keep, create=not read_only, read_only=read_only,
      enable_async_checkpointing=not read_only, cleanup_tmp_directories=True)
  return ocp.CheckpointManager(
      os.path.abspath(directory), options=options, item_names=ITEMS,
      item_handlers={"state": ocp.StandardCheckpointHandler(),
                     "data": grain.checkpoint.CheckpointHandler(),
                     "config": ocp.JsonCheckpointHandler()})


class CheckpointWriteError(OSError):
  """A checkpoint could not be written (a full disk, a lost mount, ...)."""


@contextlib.contextmanager
def writing(mngr: ocp.CheckpointManager):
  """Turns a failed write under it into one CheckpointWriteError that says
  which checkpoint is the newest intact one."""
  try:
    yield
  except Exception as e:  # pylint: disable=broad-except
    try:
      latest = mngr.latest_step()
    except Exception:  # pylint: disable=broad-except
      latest = None
    raise CheckpointWriteError(
        f"could not write a checkpoint in {mngr.directory} ({_reason(e)}); is "
        f"the disk full or the folder read-only? The newest intact checkpoint "
        f"is {latest if latest is not None else 'none'}: run the same command "
        "to resume from it once that is fixed") from None


def save(mngr: ocp.CheckpointManager, step: int, state: Any, data_iterator: Any,
         config: dict) -> None:
  """Starts an asynchronous save of ``state``, the iterator and the config
  (a failure of the previous save raises CheckpointWriteError here)."""
  with writing(mngr):
    mngr.save(step, args=ocp.args.Composite(
        state=ocp.args.StandardSave(state),
        data=grain.checkpoint.CheckpointSave(data_iterator),
        config=ocp.args.JsonSave(config)), force=True)


def finish(mngr: ocp.CheckpointManager, *, check: bool = True) -> None:
  """Waits for the last save and closes ``mngr``; with ``check``, a failed
  save raises CheckpointWriteError (else it is dropped: another error is
  already on its way)."""
  try:
    with writing(mngr):
      try:
        mngr.wait_until_finished()
      finally:
        mngr.close()
  except CheckpointWriteError:
    if check:
      raise


def restore(mngr: ocp.CheckpointManager, step: int, abstract_state: Any,
            data_iterator: Any = None) -> Any:
  """The state at ``step``, laid out as ``abstract_state`` (its shardings may be
  for another number of devices); ``data_iterator``, if given, is restored in
  place."""
  items = {"state": ocp.args.StandardRestore(abstract_state)}
  if data_iterator is not None:
    items["data"] = grain.checkpoint.CheckpointRestore(data_iterator)
  return mngr.restore(step, args=ocp.args.Composite(**items))["state"]


def _reason(error: BaseException) -> str:
  lines = str(error).strip().splitlines()
  text = lines[0] if lines else ""
  text = text if len(text) <= 160 else text[:157] + "..."
  return f"{type(error).__name__}: {text}" if text else type(error).__name__


@contextlib.contextmanager
def _quiet_orbax():
  """Orbax logs an ERROR per damaged file; newest_intact reports them itself."""
  logger = logging.getLogger("absl")
  level = logger.level
  logger.setLevel(logging.CRITICAL)
  try:
    yield
  finally:
    logger.setLevel(level)


def newest_intact(directory: str, steps: Sequence[int],
                  attempt: Callable[[int], T]) -> tuple[int, T, list[int]]:
  """``(step, attempt(step), damaged)`` for the newest of ``steps`` whose
  ``attempt`` (a restore) succeeds; ``damaged`` are the newer steps that
  failed, each named in one line on stderr. An IncompatibleCheckpointError
  is raised at once (that checkpoint is intact, just not this run's). Errors
  if no step can be read."""
  damaged, reasons = [], []
  for step in sorted(steps, reverse=True):
    try:
      with _quiet_orbax():
        return step, attempt(step), damaged
    except IncompatibleCheckpointError:
      raise
    except Exception as e:  # pylint: disable=broad-except
      # Whatever a damaged file raises (JSON, TensorStore, KeyError, ...).
      reasons.append(f"{step} ({_reason(e)})")
      damaged.append(step)
      print(f"pconvgan: checkpoint {directory}/{step} is damaged or "
            f"unreadable ({_reason(e)}); trying the one before", file=sys.stderr)
  if not reasons:
    raise ValueError(f"no checkpoint in {directory}")
  raise ValueError(f"no intact checkpoint in {directory}: "
                   f"{'; '.join(reasons)}. Move the folder away to start afresh")


def set_aside(directory: str, step: int) -> str:
  """Moves the damaged checkpoint ``directory/step`` to
  ``../damaged_checkpoints/`` (kept for inspection, out of the way of a new
  save of that step); returns where it went."""
  target_dir = os.path.join(os.path.dirname(os.path.abspath(directory)),
                            DAMAGED_FOLDER)
  os.makedirs(target_dir, exist_ok=True)
  target, n = os.path.join(target_dir, str(step)), 1
  while os.path.exists(target):
    target, n = os.path.join(target_dir, f"{step}.{n}"), n + 1
  os.rename(os.path.join(directory, str(step)), target)
  return target


def saved_config(mngr: ocp.CheckpointManager, step: int) -> dict:
  """The run's config saved with checkpoint ``step``, as a dict."""
  return mngr.restore(step, args=ocp.args.Composite(
      config=ocp.args.JsonRestore()))["config"]


def abstract_like(tree: Any, sharding) -> Any:
  """ShapeDtypeStructs of ``tree`` placed with ``sharding``."""
  return jax.tree.map(
      lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=sharding), tree)


def config_to_json(config: Any) -> dict:
  """A JSON-able dict of a ConfigDict or mapping."""
  if hasattr(config, "to_json_best_effort"):
    return json.loads(config.to_json_best_effort())
  return json.loads(json.dumps(config, default=str))


def resolve(path: str) -> tuple[str, int]:
  """(checkpoints directory, step) for a workdir, a checkpoints directory (its
  latest step) or one step's directory. Errors name the path."""
  directory, steps = candidates(path)
  return directory, steps[-1]


def candidates(path: str) -> tuple[str, list[int]]:
  """(checkpoints directory, its steps, oldest first) for a workdir or
  checkpoints directory; only the step itself for one step's directory."""
  path = os.path.abspath(os.path.expanduser(path))
  if not os.path.exists(path):
    raise FileNotFoundError(f"checkpoint not found: {path}")
  if os.path.isdir(os.path.join(path, "checkpoints")):
    path = os.path.join(path, "checkpoints")
  name = os.path.basename(path.rstrip("/"))
  if name.isdigit() and os.path.isdir(os.path.join(path, "state")):
    return os.path.dirname(path), [int(name)]
  steps = sorted(int(n) for n in os.listdir(path) if n.isdigit()
                 and os.path.isdir(os.path.join(path, n, "state"))) if (
                     os.path.isdir(path)) else []
  if not steps:
    raise ValueError(f"{path} is not a pconvgan checkpoint: expected a "
                     "directory written by train.py (a workdir, its "
                     "checkpoints/ folder, or one step's folder) or a "
                     ".msgpack weights file")
  return path, steps


def load_generator(path: str) -> tuple[dict, Any, dict, int]:
  """Restores only what inference needs from a train.py checkpoint.

  Returns ``(variables, generator_config, run_config, step)``: the generator's
  parameters and batch statistics (their moving average where the run kept
  one, ``optim.ema_decay`` > 0) (not the discriminators or optimiser
  states), its GeneratorConfig, the run's config as a dict, and the step.
  For a workdir, a damaged newest checkpoint is skipped (named on stderr).
  """
  directory, steps = candidates(path)
  if len(steps) == 1:
    return _load_generator_step(directory, steps[0])
  _, result, _ = newest_intact(
      directory, steps, lambda s: _load_generator_step(directory, s))
  return result


def _load_generator_step(directory: str, step: int
                         ) -> tuple[dict, Any, dict, int]:
  from pconvgan import generator  # pylint: disable=import-outside-toplevel
  mngr = ocp.CheckpointManager(
      directory, options=ocp.CheckpointManagerOptions(
          create=False, enable_async_checkpointing=False),
      item_names=ITEMS,
      item_handlers={"state": ocp.PyTreeCheckpointHandler(),
                     "config": ocp.JsonCheckpointHandler()})
  try:
    config = saved_config(mngr, step)
    g_config = generator.GeneratorConfig(**config["model"])
    abstract = jax.eval_shape(
        lambda: generator.init_generator(jax.random.key(0), g_config))
    # With an exponential moving average, its weights are the model.
    key = "g_ema" if config.get("optim", {}).get("ema_decay", 0) > 0 else "g"
    target = {key: abstract}
    restored = mngr.restore(step, args=ocp.args.Composite(
        state=ocp.args.PyTreeRestore(
            item=target,
            restore_args=ocp.checkpoint_utils.construct_restore_args(target),
            partial_restore=True)))["state"]
  except Exception as e:  # pylint: disable=broad-except
    raise ValueError(f"{directory}/{step} is not a readable pconvgan "
                     f"checkpoint: {_reason(e)}") from None
  finally:
    mngr.close()
  return restored[key], g_config, config, step
