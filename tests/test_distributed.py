"""When train.py starts jax.distributed."""

from pconvgan import distributed


def test_requested_only_for_several_processes():
  assert not distributed.requested({})
  assert not distributed.requested({"SLURM_NTASKS": "1"})
  assert distributed.requested({"SLURM_NTASKS": "4"})
  assert distributed.requested({"OMPI_COMM_WORLD_SIZE": "2"})
  assert distributed.requested({"JAX_COORDINATOR_ADDRESS": "host:1234"})
  assert not distributed.requested({"JAX_COORDINATOR_ADDRESS": ""})
