"""Orbax checkpoints of the full training state, the data iterator and the config.

A checkpoint directory ``WORKDIR/checkpoints/<step>/`` holds three items:
``state`` (generator and discriminator parameters, batch statistics, both
optimiser states, the step), ``data`` (the grain iterator state, per process)
and ``config`` (the run's config as JSON). Saves are asynchronous and atomic:
a run killed mid-save leaves the previous checkpoint as the latest.
"""

from __future__ import annotations

import json
import os
from typing import Any

import grain
import jax
import orbax.checkpoint as ocp

ITEMS = ("state", "data", "config")


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


def save(mngr: ocp.CheckpointManager, step: int, state: Any, data_iterator: Any,
         config: dict) -> None:
  """Starts an asynchronous save of ``state``, the iterator and the config."""
  mngr.save(step, args=ocp.args.Composite(
      state=ocp.args.StandardSave(state),
      data=grain.checkpoint.CheckpointSave(data_iterator),
      config=ocp.args.JsonSave(config)), force=True)


def restore(mngr: ocp.CheckpointManager, step: int, abstract_state: Any,
            data_iterator: Any) -> Any:
  """The state at ``step``, laid out as ``abstract_state`` (its shardings may be
  for another number of devices); ``data_iterator`` is restored in place."""
  restored = mngr.restore(step, args=ocp.args.Composite(
      state=ocp.args.StandardRestore(abstract_state),
      data=grain.checkpoint.CheckpointRestore(data_iterator)))
  return restored["state"]


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
  path = os.path.abspath(os.path.expanduser(path))
  if not os.path.exists(path):
    raise FileNotFoundError(f"checkpoint not found: {path}")
  if os.path.isdir(os.path.join(path, "checkpoints")):
    path = os.path.join(path, "checkpoints")
  name = os.path.basename(path.rstrip("/"))
  if name.isdigit() and os.path.isdir(os.path.join(path, "state")):
    return os.path.dirname(path), int(name)
  steps = sorted(int(n) for n in os.listdir(path) if n.isdigit()
                 and os.path.isdir(os.path.join(path, n, "state"))) if (
                     os.path.isdir(path)) else []
  if not steps:
    raise ValueError(f"{path} is not a pconvgan checkpoint: expected a "
                     "directory written by train.py (a workdir, its "
                     "checkpoints/ folder, or one step's folder)")
  return path, steps[-1]


def load_generator(path: str) -> tuple[dict, Any, dict, int]:
  """Restores only what inference needs from a train.py checkpoint.

  Returns ``(variables, generator_config, run_config, step)``: the generator's
  parameters and batch statistics (their moving average where the run kept
  one, ``optim.ema_decay`` > 0) (not the discriminators or optimiser
  states), its GeneratorConfig, the run's config as a dict, and the step.
  """
  from pconvgan import generator  # pylint: disable=import-outside-toplevel
  directory, step = resolve(path)
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
  except (KeyError, TypeError, FileNotFoundError) as e:
    raise ValueError(f"{directory}/{step} is not a readable pconvgan "
                     f"checkpoint: {e}") from None
  finally:
    mngr.close()
  return restored[key], g_config, config, step
