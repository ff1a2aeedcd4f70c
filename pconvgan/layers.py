"""Layers as pure functions: partial and plain convolutions, batch norm, upsampling.

Arrays are NHWC, kernels HWIO. Masks are (B, H, W, 1) with 1 = known pixel and
0 = hole. Every convolution pads so that the output is ceil(H / stride) by
ceil(W / stride), centring the window as PyTorch's ``padding=(k - 1) // 2``
does; for partial convolutions the padding counts as hole.
"""

from __future__ import annotations

import functools
from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from pconvgan import conv as conv_lib
from pconvgan import cpu_training


def cpu_forms_traced() -> bool:
  """Whether layers traced now take cpu_training's forms: a static argument
  of pconvgan's cached jits that trace a network's forward pass
  (apply_generator's, apply_discriminator's), so that they never reuse a
  program traced inside the forms outside them (jit caches do not see the
  context)."""
  return cpu_training.enabled()


def _conv(x: jax.Array, kernel: jax.Array, stride: int) -> jax.Array:
  """Zero-padded 'same-centred' convolution. Traced inside
  cpu_training.forms (the training steps built for CPU devices), strided
  convolutions take cpu_training.strided_conv's gradients; elsewhere XLA's
  own."""
  if stride > 1 and cpu_training.enabled():
    return cpu_training.strided_conv(
        x, kernel, stride, conv_lib.same_paddings(x.shape, kernel.shape, stride))
  return conv_lib.same_conv2d(x, kernel, stride)


def conv(x: jax.Array, kernel: jax.Array, bias: jax.Array | None,
         stride: int = 1) -> jax.Array:
  """An ordinary zero-padded convolution with the same geometry as partial_conv."""
  y = _conv(x, kernel, stride)
  return y if bias is None else y + bias


@functools.cache
def _subpixel_taps(kernel_size: int) -> tuple[tuple[int, int], np.ndarray]:
  """How a k-tap 'same' convolution of a 2x nearest-upsampled axis reads the
  low-resolution axis: output 2i + p (sub-pixel position p) sees low pixels
  i + starts[p] + a, a < w, with taps summed by taps[p] (w x k, 0/1)."""
  low_pad = (kernel_size - 1) // 2
  offsets = [[(p + i - low_pad) // 2 for i in range(kernel_size)] for p in (0, 1)]
  starts = tuple(min(o) for o in offsets)
  width = max(max(o) - s + 1 for o, s in zip(offsets, starts))
  taps = np.zeros((2, width, kernel_size), np.float32)
  for p in (0, 1):
    for i, o in enumerate(offsets[p]):
      taps[p, o - starts[p], i] = 1.0
  return starts, taps


def _upsampled_conv(low: jax.Array, kernel: jax.Array) -> jax.Array:
  """_conv(upsample_nearest(low), kernel) at stride 1, without the upsampled array.

  Upsampling repeats each pixel, so for each of the four sub-pixel positions of
  the output (row and column parity) the k x k kernel reduces to a (k+1)/2 square one on
  ``low``, its taps summed where they read the same pixel (2x2 for k = 3: 16
  products per output pixel and channel pair instead of 36). Wide outputs
  run the four positions as one matrix product of each window's pixels
  (im2col, 4 C_in per low pixel); narrow ones (4 C_out < C_in, the last
  decoder layer) multiply each low pixel by every tap first and sum shifted
  products (16 C_out per low pixel), whichever moves fewer bytes.
  """
  kh, kw, c, o = kernel.shape
  (rows, row_taps), (cols, col_taps) = (_subpixel_taps(kh),
                                        _subpixel_taps(kw))
  # subpixel_kernel[a, d, :, p, q]: the tap at window offset (a, d) of position (p, q).
  subpixel_kernel = jnp.einsum("pai,qdj,ijco->adcpqo", row_taps, col_taps, kernel)
  b, h, w, _ = low.shape
  wh, ww = subpixel_kernel.shape[:2]
  lo_h, lo_w = -min(rows), -min(cols)
  if 4 * o < c:
    z = jnp.dot(low.reshape(-1, c),
                jnp.moveaxis(subpixel_kernel, 2, 0).reshape(c, -1))
    z = jnp.pad(z.reshape(b, h, w, wh, ww, 2, 2, o),
                ((0, 0), (lo_h, max(rows) + wh - 1), (lo_w, max(cols) + ww - 1))
                + ((0, 0),) * 5)

    def subpixel(p, q):
      return sum(z[:, rows[p] + a + lo_h:rows[p] + a + lo_h + h,
                   cols[q] + d + lo_w:cols[q] + d + lo_w + w, a, d, p, q]
                 for a in range(wh) for d in range(ww))
  else:
    out_h, out_w = h + max(rows) + lo_h, w + max(cols) + lo_w
    xp = jnp.pad(low, ((0, 0), (lo_h, out_h + wh - 1 - h - lo_h),
                       (lo_w, out_w + ww - 1 - w - lo_w), (0, 0)))
    windows = jnp.concatenate([xp[:, a:a + out_h, d:d + out_w]
                               for a in range(wh) for d in range(ww)], -1)
    y = jnp.dot(windows.reshape(-1, wh * ww * c),
                subpixel_kernel.reshape(wh * ww * c, 4 * o))
    y = y.reshape(b, out_h, out_w, 2, 2, o)

    def subpixel(p, q):
      return y[:, rows[p] + lo_h:rows[p] + lo_h + h,
               cols[q] + lo_w:cols[q] + lo_w + w, p, q]
  # Interleave: output pixel (2i + p, 2j + q) is position (p, q) at (i, j).
  positions = jnp.stack([jnp.stack([subpixel(p, q) for q in (0, 1)], 3)
                      for p in (0, 1)], 2)
  return positions.reshape(b, 2 * h, 2 * w, o)


def upsampled_concat_conv(low: jax.Array, high: jax.Array | None,
                          kernel: jax.Array, bias: jax.Array | None = None
                          ) -> jax.Array:
  """conv(concat([upsample_nearest(low), high]), kernel, bias) at stride 1.

  ``low`` is (B, H, W, C_low), ``high`` (B, 2H, 2W, C_high) or None; the
  kernel's first C_low input channels apply to ``low``. Same values as the
  explicit form (up to float summation order), with the ``low`` part computed
  at its own resolution: the decoder layers' upsampling costs no arithmetic.
  """
  c = low.shape[-1]
  y = _upsampled_conv(low, kernel[:, :, :c])
  if high is not None:
    y = y + _conv(high, kernel[:, :, c:], 1)
  return y if bias is None else y + bias


def partial_conv_grouped(
    xs: Sequence[jax.Array],
    masks: Sequence[jax.Array],
    kernel: jax.Array,
    bias: jax.Array | None,
    stride: int = 1,
    *,
    upsample_first: bool = False,
) -> tuple[jax.Array, jax.Array]:
  """Partial convolution of concatenated inputs that each carry their own mask.

  ``xs[g]`` is (B, H, W, C_g) and ``masks[g]`` is (B, H, W, 1); the kernel's
  input channels follow the concatenation order. This is Liu et al.'s
  multi-channel partial convolution with the per-channel mask
  M = concat(broadcast(masks[g], C_g)): per window,

      y  = W^T (X * M) * sum(1) / sum(M) + b   where sum(M) > 0, else 0
      m' = [sum(M) > 0]

  with sum(1) = C * k_h * k_w and sum(M) = sum_g C_g * count_g, count_g being
  the known pixels of mask g in the window. The counts come from one
  convolution of the G stacked one-channel masks with a kernel that holds C_g
  for group g, so no C-channel mask is ever built. With one group this is the
  single-mask partial convolution: the scale is k_h * k_w / count.

  With ``upsample_first``, ``xs[0]`` and ``masks[0]`` are at half the
  others' resolution and stand for their 2x nearest upsampling (the decoder's
  input); the convolution (stride 1) then reads them at their own resolution
  (upsampled_concat_conv).

  Returns ``(y, new_mask)`` with ``new_mask`` of shape (B, H', W', 1). No
  gradient flows into the masks.
  """
  if len(xs) != len(masks) or not xs:
    raise ValueError(
        f"partial_conv_grouped needs one mask per input group, got "
        f"{len(xs)} inputs and {len(masks)} masks")
  channels = [x.shape[-1] for x in xs]
  if sum(channels) != kernel.shape[2]:
    raise ValueError(
        f"kernel expects {kernel.shape[2]} input channels, inputs have "
        f"{channels} (sum {sum(channels)})")
  if upsample_first and stride != 1:
    raise ValueError(f"upsample_first needs stride 1, got {stride}")
  masks = [lax.stop_gradient(m.astype(xs[0].dtype)) for m in masks]
  masked = [x * m for x, m in zip(xs, masks)]
  if upsample_first:
    high = jnp.concatenate(masked[1:], -1) if len(masked) > 1 else None
    y = upsampled_concat_conv(masked[0], high, kernel)
    masks = [upsample_nearest(masks[0])] + masks[1:]
  else:
    features = masked[0] if len(masked) == 1 else jnp.concatenate(masked, -1)
    y = _conv(features, kernel, stride)

  kh, kw = kernel.shape[:2]
  stacked = masks[0] if len(masks) == 1 else jnp.concatenate(masks, -1)
  weights = jnp.asarray(channels, stacked.dtype)
  count_kernel = jnp.broadcast_to(weights[None, None, :, None],
                                  (kh, kw, len(channels), 1))
  known = _conv(stacked, count_kernel, stride)  # sum(M) per window
  new_mask = (known > 0).astype(y.dtype)
  scale = (sum(channels) * kh * kw) / jnp.maximum(known, 1.0) * new_mask
  y = y * scale
  if bias is not None:
    y = (y + bias) * new_mask
  return y, new_mask


def partial_conv(x: jax.Array, mask: jax.Array, kernel: jax.Array,
                 bias: jax.Array | None, stride: int = 1
                 ) -> tuple[jax.Array, jax.Array]:
  """Partial convolution (Liu et al. 2018) with a single-channel mask.

  ``x`` (B, H, W, C), ``mask`` (B, H, W, 1) with 1 = known pixel. Per window:
  y = conv(x * mask) * k*k / count + b where the window holds a known pixel
  (count > 0), exactly 0 where it holds none; the new mask is [count > 0].
  Returns ``(y, new_mask)``. Finite values and gradients for any mask.
  """
  return partial_conv_grouped([x], [mask], kernel, bias, stride)


def upsample_nearest(x: jax.Array, factor: int = 2) -> jax.Array:
  """Nearest-neighbour upsampling of an NHWC array by an integer factor."""
  b, h, w, c = x.shape
  x = jnp.broadcast_to(x[:, :, None, :, None, :], (b, h, factor, w, factor, c))
  return x.reshape(b, h * factor, w * factor, c)


def batch_norm(x: jax.Array, params: dict, stats: dict, *, train: bool,
               momentum: float, eps: float) -> tuple[jax.Array, dict]:
  """Batch norm over (B, H, W). Returns ``(y, new_stats)``.

  Training uses the batch's statistics and moves the running ``mean`` and
  ``var`` by ``1 - momentum`` towards them (the unbiased batch variance, as
  PyTorch); inference uses the running statistics and returns them unchanged.
  Under ``jax.jit`` with a batch sharded over devices the statistics are those
  of the global batch.
  """
  n = x.shape[0] * x.shape[1] * x.shape[2]
  if train and cpu_training.enabled():
    y, mean, var = cpu_training.batch_norm_train(x, params["scale"],
                                                 params["bias"], eps)
    return y, _moved_stats(stats, mean, var, n, momentum)
  if train:
    mean = jnp.mean(x, axis=(0, 1, 2))
    var = jnp.mean(jnp.square(x - mean), axis=(0, 1, 2))
    stats = _moved_stats(stats, mean, var, n, momentum)
  else:
    mean, var = stats["mean"], stats["var"]
  y = (x - mean) * lax.rsqrt(var + eps) * params["scale"] + params["bias"]
  return y, stats


def _moved_stats(stats: dict, mean, var, n: int, momentum: float) -> dict:
  """Running statistics moved towards the batch's (``var`` biased, over
  ``n`` values; the running variance is the unbiased one)."""
  unbiased = var * (n / max(n - 1, 1))
  return {"mean": momentum * stats["mean"] + (1 - momentum) * mean,
          "var": momentum * stats["var"] + (1 - momentum) * unbiased}


def dense(x: jax.Array, params: dict) -> jax.Array:
  return x @ params["kernel"] + params["bias"]


def leaky_relu(x: jax.Array, slope: float = 0.2) -> jax.Array:
  return jnp.where(x >= 0, x, slope * x)


def init_conv(key: jax.Array, kernel_size: int, in_ch: int, out_ch: int,
              bias: bool = True) -> dict:
  """He-normal kernel (fan-in), zero bias."""
  kernel = jax.nn.initializers.he_normal()(
      key, (kernel_size, kernel_size, in_ch, out_ch), jnp.float32)
  params = {"kernel": kernel}
  if bias:
    params["bias"] = jnp.zeros((out_ch,), jnp.float32)
  return params


def init_dense(key: jax.Array, in_features: int, out_features: int) -> dict:
  kernel = jax.nn.initializers.he_normal()(
      key, (in_features, out_features), jnp.float32)
  return {"kernel": kernel, "bias": jnp.zeros((out_features,), jnp.float32)}


def init_batch_norm(channels: int) -> tuple[dict, dict]:
  """(params, stats) of a fresh batch norm: scale 1, bias 0, mean 0, var 1."""
  params = {"scale": jnp.ones((channels,), jnp.float32),
            "bias": jnp.zeros((channels,), jnp.float32)}
  stats = {"mean": jnp.zeros((channels,), jnp.float32),
           "var": jnp.ones((channels,), jnp.float32)}
  return params, stats
