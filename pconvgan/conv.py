"""The plain convolution and its 'same-centred' padding: the leaf that the
paper's layers (``layers``) and the CPU training forms (``cpu_training``)
both build on."""

from __future__ import annotations

import numpy as np
from jax import lax

DIMENSIONS = ("NHWC", "HWIO", "NHWC")


def same_padding(size: int, kernel_size: int, stride: int) -> tuple[int, int]:
  """(low, high) padding giving ceil(size / stride) outputs, window centred.

  A symbolic ``size`` (jax.export, ONNX export) is taken to be a multiple of
  ``stride``, as the generator's sizes are; the padding then does not depend
  on it.
  """
  if not isinstance(size, (int, np.integer)):
    size = stride * kernel_size  # any multiple of stride gives the same padding
  out = -(-size // stride)
  total = max((out - 1) * stride + kernel_size - size, 0)
  low = min((kernel_size - 1) // 2, total)
  return low, total - low


def same_paddings(x_shape, kernel_shape, stride: int):
  """((top, bottom), (left, right)) of an NHWC input and an HWIO kernel."""
  return (same_padding(x_shape[1], kernel_shape[0], stride),
          same_padding(x_shape[2], kernel_shape[1], stride))


def conv2d(x, kernel, stride: int, padding):
  """XLA's convolution of NHWC ``x`` with an HWIO kernel: ``padding`` is
  ((top, bottom), (left, right)) or "VALID"."""
  return lax.conv_general_dilated(x, kernel, (stride, stride), padding,
                                  dimension_numbers=DIMENSIONS)


def same_conv2d(x, kernel, stride: int):
  """conv2d zero-padded to ceil(H / stride) x ceil(W / stride) outputs."""
  return conv2d(x, kernel, stride, same_paddings(x.shape, kernel.shape, stride))
