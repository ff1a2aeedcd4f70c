"""The training steps' CPU forms (pconvgan.cpu_training) against XLA's own
layers, plain loops and NumPy."""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pconvgan import conv
from pconvgan import cpu_training
from pconvgan import layers


@pytest.mark.parametrize("kernel_size, stride, size, c_in, c_out, form", [
    (5, 2, (9, 10), 16, 24, "custom_vjp"),    # 5x5 stride 2, polyphase
    (5, 2, (11, 7), 3, 8, "custom_vjp"),      # few channels: space-to-depth
    (7, 3, (10, 11), 4, 5, "custom_vjp"),
    (3, 2, (8, 8), 16, 24, "custom_vjp"),     # 3x3 stride 2, polyphase
    (3, 2, (7, 9), 17, 4, "custom_vjp"),
    (2, 3, (10, 8), 16, 3, "custom_vjp"),     # phases without taps
    (3, 1, (9, 8), 24, 16, None),             # stride 1: XLA as is
])
def test_cpu_training_convolution_equals_xla(kernel_size, stride, size, c_in,
                                             c_out, form):
  """Inside cpu_training.forms the strided convolutions give XLA's values
  and gradients, and the plain path is taken outside it."""
  rng = np.random.default_rng(8)
  x = jnp.asarray(rng.normal(size=(2, *size, c_in)), jnp.float32)
  kernel = jnp.asarray(rng.normal(size=(kernel_size, kernel_size, c_in, c_out)),
                       jnp.float32)
  dy = jnp.asarray(rng.normal(size=(2, -(-size[0] // stride),
                                    -(-size[1] // stride), c_out)), jnp.float32)
  def fast(x, k):
    with cpu_training.forms():
      return layers._conv(x, k, stride)
  y, vjp = jax.vjp(fast, x, kernel)
  want_y, want_vjp = jax.vjp(lambda x, k: conv.same_conv2d(x, k, stride), x,
                             kernel)
  np.testing.assert_allclose(y, want_y, rtol=1e-5, atol=1e-4)
  for got, want in zip(vjp(dy), want_vjp(dy)):
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-3)
  fast_jaxpr = str(jax.make_jaxpr(fast)(x, kernel))
  plain_jaxpr = str(jax.make_jaxpr(
      lambda x, k: layers._conv(x, k, stride))(x, kernel))
  if form is None:
    assert fast_jaxpr == plain_jaxpr
  else:
    assert form in fast_jaxpr and form not in plain_jaxpr


def _conv_input_gradient_loop(dy, kernel, x_shape, stride):
  """dx of the 'same-centred' strided convolution, one output pixel at a time."""
  kh, kw = kernel.shape[:2]
  (pt, _), (pl, _) = conv.same_paddings(x_shape, kernel.shape, stride)
  dx = np.zeros(x_shape)
  for i in range(dy.shape[1]):
    for j in range(dy.shape[2]):
      for a in range(kh):
        for d in range(kw):
          r, c = stride * i + a - pt, stride * j + d - pl
          if 0 <= r < x_shape[1] and 0 <= c < x_shape[2]:
            dx[:, r, c] += dy[:, i, j] @ kernel[a, d].T
  return dx


@pytest.mark.parametrize("kernel_size, stride, size", [
    (5, 2, (9, 10)), (5, 2, (11, 7)), (3, 2, (8, 9)), (4, 3, (10, 8)),
    (2, 3, (7, 7)), (1, 2, (6, 5))])
def test_input_gradient_polyphase_equals_loop(kernel_size, stride, size):
  """The polyphase input gradient against a plain loop,
  odd sizes and kernels narrower than the stride (phases with no tap)
  included."""
  rng = np.random.default_rng(10)
  x_shape = (2, *size, 4)
  kernel = rng.normal(size=(kernel_size, kernel_size, 4, 3)).astype(np.float32)
  dy = rng.normal(size=(2, -(-size[0] // stride), -(-size[1] // stride),
                        3)).astype(np.float32)
  got = cpu_training.input_gradient_polyphase(
      jnp.asarray(dy), jnp.asarray(kernel), x_shape, stride,
      conv.same_paddings(x_shape, kernel.shape, stride))
  np.testing.assert_allclose(got, _conv_input_gradient_loop(dy, kernel, x_shape,
                                                            stride),
                             rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kernel_size, stride, size", [(5, 2, (11, 7)),
                                                      (3, 2, (8, 9)),
                                                      (4, 3, (10, 8))])
def test_space_to_depth_conv_equals_strided_conv(kernel_size, stride, size):
  rng = np.random.default_rng(9)
  x = jnp.asarray(rng.normal(size=(2, *size, 3)), jnp.float32)
  kernel = jnp.asarray(rng.normal(size=(kernel_size, kernel_size, 3, 5)),
                       jnp.float32)
  np.testing.assert_allclose(
      cpu_training.space_to_depth_conv(
          x, kernel, stride, conv.same_paddings(x.shape, kernel.shape, stride)),
      conv.same_conv2d(x, kernel, stride), rtol=1e-5, atol=1e-5)


def test_xla_cpu_options_keep_convolutions_out_of_ynnpack(monkeypatch):
  """The training steps' compiler options give convolutions to XLA's own
  emitter and keep matrix products in YNNPACK; an option this jaxlib does
  not know falls back to XLA's defaults instead of failing."""
  options = cpu_training.xla_options()
  assert options is not None
  def conv_and_dot(x, kernel):
    return conv.same_conv2d(x, kernel, 1), x.reshape(-1, 64) @ kernel[0, 0]
  cpu = jax.devices("cpu")[0]
  args = (jax.device_put(jnp.ones((4, 32, 32, 64)), cpu),
          jax.device_put(jnp.ones((3, 3, 64, 64)), cpu))
  def fused_ops(compiler_options):
    """(a convolution is in a YNNPACK fusion, a dot is in one)"""
    hlo = jax.jit(conv_and_dot, compiler_options=compiler_options).lower(
        *args).compile().as_text()
    called = re.findall(r"calls=(%[\w.\-]+)[^\n]*__ynn_fusion", hlo)
    bodies = "".join(hlo.split(f"\n{name} ")[1].split("\n}")[0]
                     for name in called)
    return " convolution(" in bodies, " dot(" in bodies
  assert fused_ops(None) == (True, True)      # XLA's default: both
  assert fused_ops(options) == (False, True)  # ours: products only
  monkeypatch.setattr(cpu_training, "_XLA_CPU_OPTIONS",
                      {"xla_cpu_no_such_option_anywhere": True})
  cpu_training.xla_options.cache_clear()
  try:
    assert cpu_training.xla_options() is None
  finally:
    cpu_training.xla_options.cache_clear()


@pytest.mark.parametrize("shape", [(4, 6, 5, 3), (2, 8, 8, 16), (3, 5, 7, 2)])
def test_channel_sums_equal_numpy(shape):
  x = np.random.default_rng(11).normal(1.0, 2.0, size=shape).astype(np.float32)
  np.testing.assert_allclose(cpu_training.channel_sums(jnp.asarray(x)),
                             x.astype(np.float64).sum((0, 1, 2)), rtol=1e-5,
                             atol=1e-5)


def _plain_batch_norm(x, scale, bias, eps):
  """Training batch norm written out, differentiated by JAX's autodiff."""
  mean = jnp.mean(x, axis=(0, 1, 2))
  var = jnp.mean(jnp.square(x - mean), axis=(0, 1, 2))
  return (x - mean) * jax.lax.rsqrt(var + eps) * scale + bias, mean, var


@pytest.mark.parametrize("shape", [(4, 6, 5, 3), (2, 8, 8, 16)])
def test_batch_norm_train_vjp_equals_autodiff(shape):
  """The closed-form VJP against autodiff of the written-out form, with
  cotangents on the output and on both statistics."""
  rng = np.random.default_rng(12)
  c = shape[-1]
  args = (jnp.asarray(rng.normal(2.0, 3.0, size=shape), jnp.float32),
          jnp.asarray(rng.normal(1.0, 0.5, size=c), jnp.float32),
          jnp.asarray(rng.normal(size=c), jnp.float32))
  cotangents = (jnp.asarray(rng.normal(size=shape), jnp.float32),
                jnp.asarray(rng.normal(size=c), jnp.float32),
                jnp.asarray(rng.normal(size=c), jnp.float32))
  got_out, got_vjp = jax.vjp(
      lambda *a: cpu_training.batch_norm_train(*a, 1e-5), *args)
  want_out, want_vjp = jax.vjp(lambda *a: _plain_batch_norm(*a, 1e-5), *args)
  for got, want in zip(got_out, want_out):
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
  for got, want in zip(got_vjp(cotangents), want_vjp(cotangents)):
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
