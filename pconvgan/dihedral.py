"""The eight symmetries of the square on images: flips and transposition.

A symmetry is an int t in [0, 8): bit 0 flips left-right, bit 1 flips
top-bottom, bit 2 transposes (rows and columns swapped, applied last).
Arrays are (..., H, W, C); a transposed array is (..., W, H, C).
Self-ensembling averages a network's outputs over the first 1, 2, 4 or 8
symmetries, each mapped back by its inverse.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

COUNTS = (1, 2, 4, 8)  # how many symmetries a self-ensemble may use


def transform(x: jax.Array, t: int) -> jax.Array:
  """``x`` under symmetry ``t``."""
  if t & 1:
    x = jnp.flip(x, -2)
  if t & 2:
    x = jnp.flip(x, -3)
  if t & 4:
    x = jnp.swapaxes(x, -3, -2)
  return x


def invert(x: jax.Array, t: int) -> jax.Array:
  """The inverse of ``transform(., t)``: ``invert(transform(x, t), t) == x``."""
  if t & 4:
    x = jnp.swapaxes(x, -3, -2)
  if t & 2:
    x = jnp.flip(x, -3)
  if t & 1:
    x = jnp.flip(x, -2)
  return x


def check_count(count: int) -> None:
  if count not in COUNTS:
    raise ValueError(f"ensemble must be one of {COUNTS} (symmetries averaged), "
                     f"got {count!r}")


def average(fn, image: jax.Array, mask: jax.Array, count: int) -> jax.Array:
  """The mean of ``invert(fn(transform(image, t), transform(mask, t)), t)``
  over the first ``count`` symmetries."""
  check_count(count)
  outs = [invert(fn(transform(image, t), transform(mask, t)), t)
          for t in range(count)]
  return sum(outs[1:], outs[0]) / count
