"""Multi-host start-up: ``jax.distributed.initialize()`` when the environment asks.

On one machine nothing is needed: every local device is used. On several,
start the same command on each host with either the variables
``JAX_COORDINATOR_ADDRESS=host:port JAX_NUM_PROCESSES=N JAX_PROCESS_ID=i``
or under a cluster manager JAX detects by itself (SLURM, Open MPI, TPU pods).
"""

from __future__ import annotations

import os

import jax

_ENVIRONMENTS = ("JAX_COORDINATOR_ADDRESS", "SLURM_NTASKS", "OMPI_COMM_WORLD_SIZE")


def requested(environ=os.environ) -> bool:
  """Whether the environment describes a run of several processes."""
  if environ.get("JAX_COORDINATOR_ADDRESS"):
    return True
  return any(int(environ.get(k, "1") or 1) > 1 for k in _ENVIRONMENTS[1:])


def initialize_if_requested() -> None:
  if not requested():
    return
  address = os.environ.get("JAX_COORDINATOR_ADDRESS")
  if address:
    jax.distributed.initialize(
        coordinator_address=address,
        num_processes=int(os.environ["JAX_NUM_PROCESSES"]),
        process_id=int(os.environ["JAX_PROCESS_ID"]))
  else:
    jax.distributed.initialize()
