"""Faster forms of the training steps' layers on XLA's CPU backend.

Inside ``forms()``, traced for the CPU, the layers take these forms: same
values as XLA's own (up to float summation order), different work.

- strided convolutions compute their input gradient in polyphase form (one
  stride-1 convolution per pixel parity of the input), without the zeros of
  XLA's input-dilated convolution (``strided_conv``);
- batch norm in training has a closed-form VJP whose channel sums are
  matrix-vector products (``batch_norm_train``).

Both are custom VJPs, so forward-mode differentiation (jax.jvp,
jax.hessian) of what is traced inside fails: they are used only where a
step is built with ``step_jit.training_jit`` (pconvgan's training steps,
and a user's own step built with ``pconvgan.training_jit``), which decides
whether it is traced inside ``forms()`` and compiled with ``xla_options()``;
nothing here looks at the backend.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from pconvgan import conv

_ENABLED = contextvars.ContextVar("cpu_training_forms", default=False)

# XLA's CPU backend hands convolutions and matrix products to YNNPACK by
# default. On the development CPU its convolutions ran the generator's
# layers slower than XLA's own (Eigen) ones, while its matrix products were
# faster (docs/performance.md): the training steps keep it for products only.
_XLA_CPU_OPTIONS = {
    "xla_cpu_experimental_ynn_fusion_type": "LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT"}

# Below this many input channels, the polyphase convolutions have too few
# outputs to run well on XLA's CPU backend; the space-to-depth form's input
# gradient is faster there (measured in docs/performance.md).
_POLYPHASE_MIN_CHANNELS = 16


@contextlib.contextmanager
def forms(enabled: bool = True):
  """Within this context, layers traced take this module's forms (meant for
  programs compiled for CPU devices)."""
  token = _ENABLED.set(enabled)
  try:
    yield
  finally:
    _ENABLED.reset(token)


def enabled() -> bool:
  """Whether layers traced now take this module's forms."""
  return _ENABLED.get()


@functools.cache
def xla_options() -> dict | None:
  """Compiler options for jitting the training steps for CPU devices:
  _XLA_CPU_OPTIONS if this jaxlib knows them (checked by compiling a probe
  for the CPU once), else None."""
  probe = jax.device_put(jnp.zeros(()), jax.devices("cpu")[0])
  try:
    jax.jit(lambda x: x + 1, compiler_options=_XLA_CPU_OPTIONS).lower(
        probe).compile()
  except Exception:  # pylint: disable=broad-except
    return None  # an option this jaxlib does not have: XLA's defaults
  return dict(_XLA_CPU_OPTIONS)


def space_to_depth_conv(x, kernel, stride, padding):
  """The strided convolution as a stride-1 one on stride x stride pixel blocks.

  With t = stride * a + p, x_pad[stride * o + t] is pixel p of block o + a, so
  the k x k stride-s convolution of x equals a ceil(k/s) x ceil(k/s) stride-1
  convolution of the blocks (s*s*C channels) with the kernel zero-padded to a
  multiple of s and regrouped. ``padding`` is ((top, bottom), (left, right))
  of the strided form; only the low sides are read.
  """
  s = stride
  kh, kw, c, o = kernel.shape
  ah, aw = -(-kh // s), -(-kw // s)
  b, h, w, _ = x.shape
  ho, wo = -(-h // s), -(-w // s)
  (pt, _), (pl, _) = padding
  hp, wp = s * (ho + ah - 1), s * (wo + aw - 1)
  xp = jnp.pad(x, ((0, 0), (pt, hp - h - pt), (pl, wp - w - pl), (0, 0)))
  blocks = xp.reshape(b, hp // s, s, wp // s, s, c).transpose(0, 1, 3, 2, 4, 5)
  blocks = blocks.reshape(b, hp // s, wp // s, s * s * c)
  kp = jnp.pad(kernel, ((0, s * ah - kh), (0, s * aw - kw), (0, 0), (0, 0)))
  kp = kp.reshape(ah, s, aw, s, c, o).transpose(0, 2, 1, 3, 4, 5)
  return conv.conv2d(blocks, kp.reshape(ah, aw, s * s * c, o), 1, "VALID")


def input_gradient_polyphase(dy, kernel, x_shape, stride, padding):
  """The input gradient of the strided convolution in polyphase form:
  stride x stride stride-1 convolutions of ``dy``, one per phase (pixel
  parity, for stride 2) of the input.

  Input pixel stride * m + p (per axis) is read by kernel tap t of output
  m + (p + pad - t) / stride for the taps t = p + pad (mod stride): each
  phase is a correlation of ``dy`` with those taps, so the s*s phases do
  exactly the k*k taps' products once, where the input-dilated convolution
  of the transpose multiplies zeros. Phases with no tap (k < stride) are 0.
  """
  s = stride
  kh, kw, c, _ = kernel.shape
  b, h, w, _ = x_shape
  n = (-(-h // s), -(-w // s))  # per phase; cropped to (h, w) at the end
  def axis_phases(k, pad, axis):
    """[(taps by ascending dy offset, first offset)] per phase of ``axis``."""
    taps = [[t for t in range(k) if (p + pad - t) % s == 0][::-1]
            for p in range(s)]
    first = [(p + pad - t[0]) // s if t else 0 for p, t in enumerate(taps)]
    low = max(0, -min(first))
    high = max(0, max(n[axis] + f + len(t) - 2 for t, f in zip(taps, first))
               - (dy.shape[axis + 1] - 1))
    return list(zip(taps, first)), (low, high)
  (pt, _), (pl, _) = padding
  rows, row_pad = axis_phases(kh, pt, 0)
  cols, col_pad = axis_phases(kw, pl, 1)
  dyp = jnp.pad(dy, ((0, 0), row_pad, col_pad, (0, 0)))
  transposed = jnp.swapaxes(kernel, 2, 3)
  phases = []
  for row_taps, r0 in rows:
    for col_taps, c0 in cols:
      if not row_taps or not col_taps:
        phases.append(jnp.zeros((b, *n, c), dy.dtype))
        continue
      r, q = r0 + row_pad[0], c0 + col_pad[0]
      window = dyp[:, r:r + n[0] + len(row_taps) - 1,
                   q:q + n[1] + len(col_taps) - 1]
      sub = transposed[np.array(row_taps)][:, np.array(col_taps)]
      phases.append(conv.conv2d(window, sub, 1, "VALID"))
  # Interleave: input pixel (s*i + p, s*j + q) is phase (p, q) at (i, j).
  dx = jnp.stack(phases, 0).reshape(s, s, b, *n, c)
  dx = dx.transpose(2, 3, 0, 4, 1, 5).reshape(b, s * n[0], s * n[1], c)
  return dx[:, :h, :w]


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3))
def strided_conv(x, kernel, stride, padding):
  """conv.conv2d(x, kernel, stride, padding) with XLA's weight gradient and
  the polyphase input gradient (or, for under _POLYPHASE_MIN_CHANNELS input
  channels, that of space_to_depth_conv)."""
  return conv.conv2d(x, kernel, stride, padding)


def _strided_conv_fwd(x, kernel, stride, padding):
  return conv.conv2d(x, kernel, stride, padding), (x, kernel)


def _strided_conv_bwd(stride, padding, residuals, dy):
  x, kernel = residuals
  if x.shape[-1] >= _POLYPHASE_MIN_CHANNELS:
    dx = input_gradient_polyphase(dy, kernel, x.shape, stride, padding)
  else:
    _, input_vjp = jax.vjp(
        lambda x: space_to_depth_conv(x, kernel, stride, padding), x)
    (dx,) = input_vjp(dy)
  _, kernel_vjp = jax.vjp(lambda k: conv.conv2d(x, k, stride, padding), kernel)
  return dx, kernel_vjp(dy)[0]


strided_conv.defvjp(_strided_conv_fwd, _strided_conv_bwd)


def channel_sums(x: jax.Array) -> jax.Array:
  """Per-channel sums of an NHWC array: a row of ones times the array seen
  as (N / k, k * C), then a sum over the k partial sums of each channel.

  XLA's CPU reduction over the leading axes ran slower than this product
  (docs/performance.md), and summing k partial sums keeps the error at or
  below the reduction's."""
  c = x.shape[-1]
  k = math.gcd(x.size // c, 64)
  rows = x.reshape(-1, k * c)
  partial = jnp.dot(jnp.ones((rows.shape[0],), x.dtype), rows)
  return jnp.sum(partial.reshape(k, c), 0)


@functools.partial(jax.custom_vjp, nondiff_argnums=(3,))
def batch_norm_train(x, scale, bias, eps):
  """Training batch norm of NHWC ``x`` over (B, H, W): returns ``(y, mean,
  var)``, var the biased batch variance. Its VJP is the closed form, with
  every channel sum a channel_sums product, so that no sum reads a
  recomputed producer (XLA fused the decoder's layer arithmetic into each of
  its reductions) and none runs as XLA's slow leading-axis reduction."""
  return _batch_norm_train_fwd(x, scale, bias, eps)[0]


def _batch_norm_train_fwd(x, scale, bias, eps):
  n = x.size // x.shape[-1]
  mean = channel_sums(x) / n
  centred = x - mean
  var = channel_sums(centred * centred) / n
  inv = lax.rsqrt(var + eps)
  normed = centred * inv
  return (normed * scale + bias, mean, var), (normed, inv, scale)


def _batch_norm_train_bwd(eps, residuals, cotangents):
  del eps
  normed, inv, scale = residuals
  dy, dmean, dvar = cotangents
  n = normed.size // normed.shape[-1]
  dbias = channel_sums(dy)
  dscale = channel_sums(dy * normed)
  dx = (scale * inv / n) * (n * dy - dbias - normed * dscale)
  # The statistics' own cotangents (zero in the training steps).
  dx = dx + dmean / n + dvar * (2.0 / n) * normed / inv
  return dx, dscale, dbias


batch_norm_train.defvjp(_batch_norm_train_fwd, _batch_norm_train_bwd)
