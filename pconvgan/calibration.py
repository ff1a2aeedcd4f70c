"""Precise batch-norm statistics: the running averages recomputed for fixed weights.

Training keeps running averages of batch-norm statistics with momentum 0.9:
they average the last few batches only, and the weights that produced those
batches. When the weights move quickly (the adversarial phase, or a moving
average of the weights that never ran forward), inference with those
statistics differs from what training saw. The 3-channel ``dec5`` layer
normalises colour directly, so its off statistics tint the whole output.
``recalibrate`` replaces every running average by the statistics of the
given weights over many batches (Wu and Johnson, "Rethinking 'Batch' in
BatchNorm", 2021).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Iterable

import jax
import jax.numpy as jnp

from pconvgan import checks
from pconvgan import generator


def batch_statistics(variables: dict, image: jax.Array, mask: jax.Array,
                     config: Any = None) -> dict:
  """Each batch-norm layer's {'mean', 'var'} over one batch (unbiased var)."""
  cfg = checks.as_config(generator.GeneratorConfig, config)
  # With momentum 0 the "moved" running statistics are the batch's own.
  _, stats = generator.apply_generator(
      variables, image, mask, train=True,
      config=dataclasses.replace(cfg, bn_momentum=0.0))
  return stats


def recalibrate(variables: dict, batches: Iterable[dict], config: Any = None,
                *, max_batches: int = 100) -> dict:
  """``variables`` with batch statistics recomputed over ``batches``.

  batches: dicts with 'image' (B, H, W, 3) and 'mask' (B, H, W, 1), all of
  one batch size. The mean is the average of the batch means; the variance
  is the average batch variance plus the variance of the batch means (the
  population variance of all the batches' values, up to the unbiased
  correction within each batch).
  """
  sums: dict = {}  # layer -> lists of batch means and variances
  for count, batch in enumerate(batches):
    if count >= max_batches:
      break
    stats = batch_statistics(variables, jnp.asarray(batch["image"]),
                             jnp.asarray(batch["mask"]), config)
    for name, s in stats.items():
      sums.setdefault(name, ([], []))
      sums[name][0].append(s["mean"])
      sums[name][1].append(s["var"])
  if not sums:
    raise ValueError("recalibrate needs at least one batch")
  new_stats = {}
  for name, (means, variances) in sums.items():
    means, variances = jnp.stack(means), jnp.stack(variances)
    new_stats[name] = {"mean": jnp.mean(means, 0),
                       "var": jnp.mean(variances, 0) + jnp.var(means, 0)}
  return dict(variables, batch_stats=new_stats)
