"""partial_conv and its grouped form against a plain NumPy loop of the definition."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pconvgan import conv
from pconvgan import cpu_training
from pconvgan import layers


def reference_pconv(x, mask_c, kernel, bias, stride):
  """Liu et al.'s partial convolution, one window at a time.

  x (B,H,W,C); mask_c (B,H,W,C) a per-channel binary mask; kernel (k,k,C,O).
  Zero padding of (k - 1) // 2 on every side, as PyTorch; padding is hole.
  """
  k = kernel.shape[0]
  p = (k - 1) // 2
  b, h, w, c = x.shape
  xp = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
  mp = np.pad(mask_c, ((0, 0), (p, p), (p, p), (0, 0)))
  oh = (h + 2 * p - k) // stride + 1
  ow = (w + 2 * p - k) // stride + 1
  y = np.zeros((b, oh, ow, kernel.shape[3]), np.float64)
  new_mask = np.zeros((b, oh, ow, 1), np.float64)
  for n in range(b):
    for i in range(oh):
      for j in range(ow):
        xs = xp[n, i * stride:i * stride + k, j * stride:j * stride + k]
        ms = mp[n, i * stride:i * stride + k, j * stride:j * stride + k]
        known = ms.sum()
        if known > 0:
          raw = np.tensordot(xs * ms, kernel, axes=([0, 1, 2], [0, 1, 2]))
          y[n, i, j] = raw * (k * k * c) / known + (0 if bias is None else bias)
          new_mask[n, i, j] = 1
  return y, new_mask


def random_case(seed, size, channels, out_channels, kernel_size, hole_rate=0.4):
  rng = np.random.default_rng(seed)
  h, w = size
  x = rng.normal(size=(2, h, w, channels)).astype(np.float32)
  mask = (rng.random((2, h, w, 1)) > hole_rate).astype(np.float32)
  kernel = rng.normal(size=(kernel_size, kernel_size, channels,
                            out_channels)).astype(np.float32)
  bias = rng.normal(size=(out_channels,)).astype(np.float32)
  return x, mask, kernel, bias


@pytest.mark.parametrize("kernel_size", [1, 3, 5])
@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("size", [(8, 8), (7, 10)])
def test_partial_conv_matches_numpy_loop(kernel_size, stride, size):
  x, mask, kernel, bias = random_case(kernel_size * 10 + stride, size, 3, 4,
                                      kernel_size)
  # Holes along the border too.
  mask[0, 0, :] = 0
  mask[1, :, -1] = 0
  y, m = layers.partial_conv(jnp.asarray(x), jnp.asarray(mask),
                             jnp.asarray(kernel), jnp.asarray(bias), stride)
  want_y, want_m = reference_pconv(x, np.repeat(mask, 3, -1), kernel, bias,
                                   stride)
  assert y.shape == (2, -(-size[0] // stride), -(-size[1] // stride), 4)
  np.testing.assert_array_equal(np.asarray(m), want_m)
  np.testing.assert_allclose(np.asarray(y), want_y, rtol=1e-4, atol=1e-4)


def test_partial_conv_all_hole_is_exactly_zero():
  x, _, kernel, bias = random_case(1, (6, 6), 3, 5, 3)
  mask = np.zeros((2, 6, 6, 1), np.float32)
  y, m = layers.partial_conv(x, mask, kernel, bias, 1)
  assert np.all(np.asarray(y) == 0)
  assert np.all(np.asarray(m) == 0)


def test_partial_conv_windows_without_known_pixel_are_exactly_zero():
  x, _, kernel, bias = random_case(2, (12, 12), 3, 2, 3)
  mask = np.ones((2, 12, 12, 1), np.float32)
  mask[:, 2:9, 3:10] = 0  # a 7x7 hole: its inner 5x5 sees no known pixel
  y, m = layers.partial_conv(x, mask, kernel, bias, 1)
  assert np.all(np.asarray(y)[:, 3:8, 4:9] == 0)
  assert np.all(np.asarray(m)[:, 3:8, 4:9] == 0)
  assert np.all(np.asarray(m).sum() == 2 * (144 - 25))


def test_no_hole_is_ordinary_convolution_renormalised_at_the_border():
  x, _, kernel, bias = random_case(3, (9, 9), 3, 2, 3)
  mask = np.ones((2, 9, 9, 1), np.float32)
  y, m = layers.partial_conv(x, mask, kernel, bias, 1)
  # Ordinary convolution, by hand, on the zero-padded input.
  xp = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
  plain = np.zeros((2, 9, 9, 2))
  for i in range(9):
    for j in range(9):
      plain[:, i, j] = np.tensordot(xp[:, i:i + 3, j:j + 3], kernel,
                                    axes=([1, 2, 3], [0, 1, 2]))
  y = np.asarray(y)
  np.testing.assert_allclose(y[:, 1:-1, 1:-1], plain[:, 1:-1, 1:-1] + bias,
                             rtol=1e-4, atol=1e-4)
  # Padding is hole: an edge window sees 6 of 9 pixels, a corner 4 of 9.
  np.testing.assert_allclose(y[:, 0, 4], plain[:, 0, 4] * 9 / 6 + bias,
                             rtol=1e-4, atol=1e-4)
  np.testing.assert_allclose(y[:, 0, 0], plain[:, 0, 0] * 9 / 4 + bias,
                             rtol=1e-4, atol=1e-4)
  assert np.all(np.asarray(m) == 1)
  # The plain layer is that ordinary convolution everywhere.
  np.testing.assert_allclose(np.asarray(layers.conv(x, kernel, bias, 1)),
                             plain + bias, rtol=1e-4, atol=1e-4)


def test_holes_close_after_enough_layers():
  """A 3x3 layer shrinks a hole by one pixel a side: a 10x10 hole needs 5."""
  rng = np.random.default_rng(4)
  x = rng.normal(size=(1, 32, 32, 2)).astype(np.float32)
  mask = np.ones((1, 32, 32, 1), np.float32)
  mask[:, 11:21, 11:21] = 0
  kernel = rng.normal(size=(3, 3, 2, 2)).astype(np.float32) * 0.3
  holes = []
  for _ in range(5):
    x, mask = layers.partial_conv(x, mask, kernel, None, 1)
    holes.append(int((np.asarray(mask) == 0).sum()))
  assert holes == [64, 36, 16, 4, 0]


@pytest.mark.parametrize("mask_kind", ["all_hole", "border", "none", "random"])
def test_gradients_are_finite(mask_kind):
  x, mask, kernel, bias = random_case(5, (8, 8), 3, 3, 3)
  if mask_kind == "all_hole":
    mask = np.zeros_like(mask)
  elif mask_kind == "border":
    mask = np.ones_like(mask)
    mask[:, :3] = 0
    mask[:, :, :2] = 0
  elif mask_kind == "none":
    mask = np.ones_like(mask)

  def loss(x, kernel, bias, mask):
    y, _ = layers.partial_conv(x, mask, kernel, bias, 2)
    y, _ = layers.partial_conv(y, _, kernel, bias, 1)
    return jnp.sum(jnp.square(y))

  grads = jax.grad(loss, argnums=(0, 1, 2, 3))(x, kernel, bias, mask)
  for g in grads:
    assert np.all(np.isfinite(np.asarray(g)))
  assert np.all(np.asarray(grads[3]) == 0)  # no gradient through the mask


@pytest.mark.parametrize("stride", [1, 2])
def test_grouped_form_matches_per_channel_masks(stride):
  rng = np.random.default_rng(6)
  a = rng.normal(size=(2, 9, 8, 3)).astype(np.float32)
  b = rng.normal(size=(2, 9, 8, 5)).astype(np.float32)
  ma = (rng.random((2, 9, 8, 1)) > 0.5).astype(np.float32)
  mb = (rng.random((2, 9, 8, 1)) > 0.7).astype(np.float32)
  mb[1] = 0  # second sample: the second group is all hole
  ma[1, :, :4] = 0
  kernel = rng.normal(size=(3, 3, 8, 4)).astype(np.float32)
  bias = rng.normal(size=(4,)).astype(np.float32)
  y, m = layers.partial_conv_grouped([a, b], [ma, mb], kernel, bias, stride)
  mask_c = np.concatenate([np.repeat(ma, 3, -1), np.repeat(mb, 5, -1)], -1)
  want_y, want_m = reference_pconv(np.concatenate([a, b], -1), mask_c, kernel,
                                   bias, stride)
  np.testing.assert_array_equal(np.asarray(m), want_m)
  np.testing.assert_allclose(np.asarray(y), want_y, rtol=1e-4, atol=1e-4)


def test_grouped_form_refuses_mismatched_channels():
  with pytest.raises(ValueError, match="input channels"):
    layers.partial_conv_grouped([np.zeros((1, 4, 4, 2))], [np.ones((1, 4, 4, 1))],
                                np.zeros((3, 3, 3, 1)), None)


def test_upsample_nearest_by_hand():
  x = np.arange(4, dtype=np.float32).reshape(1, 2, 2, 1)
  want = np.array([[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 3, 3], [2, 2, 3, 3]])
  np.testing.assert_array_equal(np.asarray(layers.upsample_nearest(x))[0, ..., 0],
                                want)


def _explicit_upsampled_concat_conv(low, high, kernel):
  """The decoder's input built as it reads: upsample, concatenate, convolve."""
  x = layers.upsample_nearest(low)
  x = x if high is None else jnp.concatenate([x, high], -1)
  return jax.lax.conv_general_dilated(
      x, kernel, (1, 1), [conv.same_padding(n, k, 1) for n, k in
                          zip(x.shape[1:3], kernel.shape[:2])],
      dimension_numbers=("NHWC", "HWIO", "NHWC"))


# (low H, low W, C_low, C_high, C_out, kernel): im2col (4 C_out >= C_low) and
# taps-first (4 C_out < C_low) forms, odd sizes, no high-resolution input.
@pytest.mark.parametrize("h,w,c_low,c_high,c_out,k", [
    (3, 5, 4, 2, 3, 3), (4, 3, 9, 3, 2, 3), (2, 3, 16, 0, 3, 3),
    (3, 4, 5, 2, 2, 5), (3, 3, 8, 1, 1, 1), (2, 2, 3, 3, 4, 1)])
def test_upsampled_concat_conv_equals_explicit_form(h, w, c_low, c_high, c_out, k):
  rng = np.random.default_rng(11)
  low = rng.normal(size=(2, h, w, c_low)).astype(np.float32)
  high = (rng.normal(size=(2, 2 * h, 2 * w, c_high)).astype(np.float32)
          if c_high else None)
  kernel = rng.normal(size=(k, k, c_low + c_high, c_out)).astype(np.float32)
  dy = rng.normal(size=(2, 2 * h, 2 * w, c_out)).astype(np.float32)
  y, pull = jax.vjp(lambda a, b, c: layers.upsampled_concat_conv(a, b, c),
                    low, high, kernel)
  want, want_pull = jax.vjp(_explicit_upsampled_concat_conv, low, high, kernel)
  np.testing.assert_allclose(np.asarray(y), np.asarray(want), rtol=1e-5,
                             atol=1e-5)
  for got, ref in zip(pull(dy), want_pull(dy)):
    if ref is not None:
      np.testing.assert_allclose(np.asarray(got), np.asarray(ref), rtol=1e-4,
                                 atol=1e-4)


def test_upsample_first_matches_numpy_loop():
  rng = np.random.default_rng(12)
  low = rng.normal(size=(2, 4, 3, 6)).astype(np.float32)
  skip = rng.normal(size=(2, 8, 6, 2)).astype(np.float32)
  low_mask = (rng.random((2, 4, 3, 1)) > 0.5).astype(np.float32)
  skip_mask = (rng.random((2, 8, 6, 1)) > 0.6).astype(np.float32)
  low_mask[1] = 0  # second sample: no known feature pixel at all
  kernel = rng.normal(size=(3, 3, 8, 5)).astype(np.float32)
  y, m = layers.partial_conv_grouped([low, skip], [low_mask, skip_mask],
                                     kernel, None, upsample_first=True)
  up = np.repeat(np.repeat(low, 2, 1), 2, 2)
  up_mask = np.repeat(np.repeat(low_mask, 2, 1), 2, 2)
  mask_c = np.concatenate([np.repeat(up_mask, 6, -1),
                           np.repeat(skip_mask, 2, -1)], -1)
  want_y, want_m = reference_pconv(np.concatenate([up, skip], -1), mask_c,
                                   kernel, None, 1)
  np.testing.assert_array_equal(np.asarray(m), want_m)
  np.testing.assert_allclose(np.asarray(y), want_y, rtol=1e-4, atol=1e-4)


def test_upsample_first_refuses_strides():
  with pytest.raises(ValueError, match="upsample_first needs stride 1"):
    layers.partial_conv_grouped([np.zeros((1, 2, 2, 1))], [np.ones((1, 2, 2, 1))],
                                np.zeros((3, 3, 1, 1)), None, 2,
                                upsample_first=True)


@pytest.mark.parametrize("cpu_forms", [False, True])
def test_batch_norm_train_and_inference(cpu_forms):
  """Against NumPy, in the public form and in the training steps' CPU form
  (cpu_training.batch_norm_train)."""
  rng = np.random.default_rng(7)
  x = rng.normal(2.0, 3.0, size=(4, 5, 5, 2)).astype(np.float32)
  params = {"scale": np.array([1.0, 2.0], np.float32),
            "bias": np.array([0.0, 1.0], np.float32)}
  stats = {"mean": np.zeros(2, np.float32), "var": np.ones(2, np.float32)}
  with cpu_training.forms(cpu_forms):
    y, new = layers.batch_norm(x, params, stats, train=True, momentum=0.9,
                               eps=1e-5)
  mean, var = x.mean((0, 1, 2)), x.var((0, 1, 2))
  want = (x - mean) / np.sqrt(var + 1e-5) * params["scale"] + params["bias"]
  np.testing.assert_allclose(np.asarray(y), want, rtol=1e-4, atol=1e-4)
  np.testing.assert_allclose(np.asarray(new["mean"]), 0.1 * mean, rtol=1e-5)
  np.testing.assert_allclose(np.asarray(new["var"]),
                             0.9 + 0.1 * x.var((0, 1, 2), ddof=1), rtol=1e-5)
  y, same = layers.batch_norm(x, params, new, train=False, momentum=0.9, eps=1e-5)
  want = ((x - new["mean"]) / np.sqrt(new["var"] + 1e-5) * params["scale"]
          + params["bias"])
  np.testing.assert_allclose(np.asarray(y), want, rtol=1e-4, atol=1e-4)
  assert same is new


def test_same_padding_of_a_symbolic_size_is_that_of_its_multiples():
  """Exported programs trace with symbolic sizes (multiples of 32): their
  padding must be the one every such size gets."""
  from jax import export  # pylint: disable=import-outside-toplevel
  (h,) = export.symbolic_shape("h")
  for kernel, stride in ((7, 2), (5, 2), (3, 2), (3, 1), (1, 1), (4, 2)):
    want = {conv.same_padding(n, kernel, stride) for n in (32, 64, 96, 160)}
    assert len(want) == 1
    assert conv.same_padding(32 * h, kernel, stride) == want.pop()
