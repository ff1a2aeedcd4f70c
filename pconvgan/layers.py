"""Layers as pure functions: partial and plain convolutions, batch norm, upsampling.

Arrays are NHWC, kernels HWIO. Masks are (B, H, W, 1) with 1 = known pixel and
0 = hole. Every convolution pads so that the output is ceil(H / stride) by
ceil(W / stride), centring the window as PyTorch's ``padding=(k - 1) // 2``
does; for partial convolutions the padding counts as hole.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
from typing import Sequence

import jax
import jax.numpy as jnp
from jax import lax

_DIMS = ("NHWC", "HWIO", "NHWC")


def same_padding(size: int, kernel_size: int, stride: int) -> tuple[int, int]:
  """(low, high) padding giving ceil(size / stride) outputs, window centred."""
  out = -(-size // stride)
  total = max((out - 1) * stride + kernel_size - size, 0)
  low = min((kernel_size - 1) // 2, total)
  return low, total - low


# Below this many input or output channels XLA's own weight gradient is as
# fast (measured on a 2-core x86 CPU: 67 -> 3 channels is 10x slower summed).
_SUMMED_WEIGHT_GRAD_MIN_CHANNELS = 16
_CPU_CONVS = contextvars.ContextVar("cpu_training_convolutions", default=False)


@contextlib.contextmanager
def cpu_training_convolutions(enabled: bool = True):
  """Within this context, convolutions traced for the CPU use the faster
  formulations of _conv (same values, different summation order). Strided and
  wide ones get a custom VJP, so forward-mode differentiation (jax.jvp,
  jax.hessian) of what is traced here fails: the training steps use it, the
  public API does not."""
  token = _CPU_CONVS.set(enabled)
  try:
    yield
  finally:
    _CPU_CONVS.reset(token)


def cpu_training_convolutions_enabled() -> bool:
  return _CPU_CONVS.get()


def _padding(x_shape, kernel_shape, stride):
  return (same_padding(x_shape[1], kernel_shape[0], stride),
          same_padding(x_shape[2], kernel_shape[1], stride))


def _xla_conv(x, kernel, stride):
  return lax.conv_general_dilated(
      x, kernel, (stride, stride), _padding(x.shape, kernel.shape, stride),
      dimension_numbers=_DIMS)


def _space_to_depth_conv(x, kernel, stride):
  """The strided convolution as a stride-1 one on stride x stride pixel blocks.

  With t = stride * a + p, x_pad[stride * o + t] is pixel p of block o + a, so
  the k x k stride-s convolution of x equals a ceil(k/s) x ceil(k/s) stride-1
  convolution of the blocks (s*s*C channels) with the kernel zero-padded to a
  multiple of s and regrouped. Its input gradient is a stride-1 convolution,
  which XLA's CPU backend runs 2 to 10x faster than the dilated one of the
  strided form (its forward and weight gradient are slower: not used there).
  """
  s = stride
  kh, kw, c, o = kernel.shape
  ah, aw = -(-kh // s), -(-kw // s)
  b, h, w, _ = x.shape
  ho, wo = -(-h // s), -(-w // s)
  (pt, _), (pl, _) = _padding(x.shape, kernel.shape, s)
  hp, wp = s * (ho + ah - 1), s * (wo + aw - 1)
  xp = jnp.pad(x, ((0, 0), (pt, hp - h - pt), (pl, wp - w - pl), (0, 0)))
  blocks = xp.reshape(b, hp // s, s, wp // s, s, c).transpose(0, 1, 3, 2, 4, 5)
  blocks = blocks.reshape(b, hp // s, wp // s, s * s * c)
  kp = jnp.pad(kernel, ((0, s * ah - kh), (0, s * aw - kw), (0, 0), (0, 0)))
  kp = kp.reshape(ah, s, aw, s, c, o).transpose(0, 2, 1, 3, 4, 5)
  return lax.conv_general_dilated(blocks, kp.reshape(ah, aw, s * s * c, o),
                                  (1, 1), "VALID", dimension_numbers=_DIMS)


def _shift_after_matmul_conv(x, kernel):
  """Stride-1 convolution as one matrix product with every kernel offset's
  filters side by side, then k*k shifted sums of the narrow result. For few
  output channels (the 3-channel decoder layer) XLA's CPU convolution and its
  gradients are 2 to 3x slower than this and its automatic derivative."""
  kh, kw, c, o = kernel.shape
  b, h, w, _ = x.shape
  (pt, pb), (pl, pr) = _padding(x.shape, kernel.shape, 1)
  z = jnp.einsum("bhwc,cn->bhwn", x,
                 kernel.transpose(2, 0, 1, 3).reshape(c, kh * kw * o))
  z = jnp.pad(z.reshape(b, h, w, kh, kw, o),
              ((0, 0), (pt, pb), (pl, pr), (0, 0), (0, 0), (0, 0)))
  return sum(z[:, i:i + h, j:j + w, i, j] for i in range(kh) for j in range(kw))


def _summed_weight_grad(x, kernel_shape, stride, dy):
  """dW[i, j] = sum over (b, h, w) of x_pad[b, s*h + i, s*w + j, :]^T dy[b, h, w, :].

  One matrix product per kernel offset with the long (batch x pixels) axis
  as the reduction; XLA's CPU backend runs these 1.5 to 4x faster than its
  own weight-gradient convolution for the decoder's layers. Each offset
  copies a shifted slice, so the narrower of x and dy is the one shifted (at
  stride 1, dW[i, j] = sum x[u]^T dy[u - (i, j) + pad]), and the shifted one
  is the right-hand operand: plain copies rather than transposes.
  """
  kh, kw, c, o = kernel_shape
  (pt, pb), (pl, pr) = _padding(x.shape, kernel_shape, stride)
  ho, wo = dy.shape[1], dy.shape[2]
  if stride == 1 and o < c:
    h, w = x.shape[1], x.shape[2]
    dyp = jnp.pad(dy, ((0, 0), (kh - 1 - pt, pt), (kw - 1 - pl, pl), (0, 0)))
    rows = [jnp.einsum("bhwc,bhwo->co", x,
                       dyp[:, kh - 1 - i:kh - 1 - i + h, kw - 1 - j:kw - 1 - j + w])
            for i in range(kh) for j in range(kw)]
    return jnp.stack(rows).reshape(kernel_shape)
  xp = jnp.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
  rows = [jnp.einsum("bhwo,bhwc->oc", dy,
                     xp[:, i:i + stride * (ho - 1) + 1:stride,
                        j:j + stride * (wo - 1) + 1:stride])
          for i in range(kh) for j in range(kw)]
  return jnp.stack(rows).reshape(kh, kw, o, c).transpose(0, 1, 3, 2)


def _narrow_output(kernel_shape, stride) -> bool:
  kh, kw, c_in, c_out = kernel_shape
  return stride == 1 and kh * kw * c_out <= c_in


def _cpu_forward(x, kernel, stride):
  if _narrow_output(kernel.shape, stride):
    return _shift_after_matmul_conv(x, kernel)
  return _xla_conv(x, kernel, stride)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def _cpu_conv(x, kernel, stride):
  return _cpu_forward(x, kernel, stride)


def _cpu_conv_fwd(x, kernel, stride):
  return _cpu_forward(x, kernel, stride), (x, kernel)


def _cpu_conv_bwd(stride, residuals, dy):
  """The input gradient through the space-to-depth form when strided (else
  through the forward's form); the weight gradient summed over offsets when
  wide, XLA's otherwise."""
  x, kernel = residuals
  forward = _space_to_depth_conv if stride > 1 else _cpu_forward
  _, input_vjp = jax.vjp(lambda x: forward(x, kernel, stride), x)
  (dx,) = input_vjp(dy)
  if min(kernel.shape[2:]) >= _SUMMED_WEIGHT_GRAD_MIN_CHANNELS:
    dkernel = _summed_weight_grad(x, kernel.shape, stride, dy)
  else:
    _, kernel_vjp = jax.vjp(lambda k: _xla_conv(x, k, stride), kernel)
    (dkernel,) = kernel_vjp(dy)
  return dx, dkernel


_cpu_conv.defvjp(_cpu_conv_fwd, _cpu_conv_bwd)


def _conv(x: jax.Array, kernel: jax.Array, stride: int) -> jax.Array:
  """Zero-padded 'same-centred' convolution.

  Inside cpu_training_convolutions on CPU, strided, wide and few-output
  layers go through _cpu_conv: few outputs computed as
  _shift_after_matmul_conv, gradients by _cpu_conv_bwd (its shifted slices
  make the step's memory about twice XLA's). Elsewhere (cuDNN on GPU, the
  public API) XLA's own convolution."""
  kh, kw, c_in, c_out = kernel.shape
  if not (_CPU_CONVS.get() and jax.default_backend() == "cpu" and kh * kw > 1):
    return _xla_conv(x, kernel, stride)
  if (stride > 1 or _narrow_output(kernel.shape, stride)
      or min(c_in, c_out) >= _SUMMED_WEIGHT_GRAD_MIN_CHANNELS):
    return _cpu_conv(x, kernel, stride)
  return _xla_conv(x, kernel, stride)


def conv(x: jax.Array, kernel: jax.Array, bias: jax.Array | None,
         stride: int = 1) -> jax.Array:
  """An ordinary zero-padded convolution with the same geometry as partial_conv."""
  y = _conv(x, kernel, stride)
  return y if bias is None else y + bias


def partial_conv_grouped(
    xs: Sequence[jax.Array],
    masks: Sequence[jax.Array],
    kernel: jax.Array,
    bias: jax.Array | None,
    stride: int = 1,
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
  masks = [lax.stop_gradient(m.astype(xs[0].dtype)) for m in masks]
  masked = [x * m for x, m in zip(xs, masks)]
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
  if train:
    mean = jnp.mean(x, axis=(0, 1, 2))
    var = jnp.mean(jnp.square(x - mean), axis=(0, 1, 2))
    n = x.shape[0] * x.shape[1] * x.shape[2]
    unbiased = var * (n / max(n - 1, 1))
    stats = {
        "mean": momentum * stats["mean"] + (1 - momentum) * mean,
        "var": momentum * stats["var"] + (1 - momentum) * unbiased,
    }
  else:
    mean, var = stats["mean"], stats["var"]
  y = (x - mean) * lax.rsqrt(var + eps) * params["scale"] + params["bias"]
  return y, stats


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
