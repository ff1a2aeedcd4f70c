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


def abstract_like(tree: Any, sharding) -> Any:
  """ShapeDtypeStructs of ``tree`` placed with ``sharding``."""
  return jax.tree.map(
      lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=sharding), tree)


def config_to_json(config: Any) -> dict:
  """A JSON-able dict of a ConfigDict or mapping."""
  if hasattr(config, "to_json_best_effort"):
    return json.loads(config.to_json_best_effort())
  return json.loads(json.dumps(config, default=str))
