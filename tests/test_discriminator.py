"""The Table 2 discriminators: shapes, parameter counts, regions, errors."""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import pconvgan


def conv_params(filters):
  count, c_in = 0, 3
  for f in filters:
    count += 5 * 5 * c_in * f + f
    c_in = f
  return count


def table2_param_count(h, w, fc=512):
  """Parameters of Table 2 at h x w, by hand."""
  def down(n, times):
    for _ in range(times):
      n = -(-n // 2)
    return n
  glob = conv_params([32, 64, 64, 128, 128]) + down(h, 5) * down(w, 5) * 128 * fc + fc
  cut = w // 3
  left = conv_params([32, 64, 64, 128]) + down(h, 4) * down(cut, 4) * 128 * fc + fc
  right = (conv_params([32, 64, 64, 128])
           + down(h, 4) * down(w - cut, 4) * 128 * fc + fc)
  return glob, left, right, 3 * fc + 1


def test_parameter_counts_match_table2():
  params = pconvgan.init_discriminator(jax.random.key(0), (128, 128))
  glob, left, right, comb = table2_param_count(128, 128)
  assert pconvgan.count_params(params["global"]) == glob
  assert pconvgan.count_params(params["local_left"]) == left
  assert pconvgan.count_params(params["local_right"]) == right
  assert pconvgan.count_params(params["combiner"]) == comb
  assert len(params["global"]["convs"]) == 5
  assert len(params["local_left"]["convs"]) == 4


def test_no_local_variant():
  params = pconvgan.init_discriminator(jax.random.key(0), (64, 64),
                                       {"local": False, "fc_features": 16})
  assert set(params) == {"global", "combiner"}
  assert params["combiner"]["kernel"].shape == (16, 1)
  logits = pconvgan.apply_discriminator(params, jnp.zeros((3, 64, 64, 3)))
  assert logits.shape == (3,)


def test_logit_shapes_batched_and_unbatched():
  params = pconvgan.init_discriminator(jax.random.key(0), (64, 96),
                                       {"width": 0.25, "fc_features": 8})
  images = jax.random.uniform(jax.random.key(1), (2, 64, 96, 3))
  logits = pconvgan.apply_discriminator(params, images)
  assert logits.shape == (2,)
  one = pconvgan.apply_discriminator(params, images[1])
  assert one.shape == ()
  np.testing.assert_allclose(one, logits[1], rtol=1e-5, atol=1e-6)
  vmapped = jax.jit(jax.vmap(lambda x: pconvgan.apply_discriminator(params, x)))(
      images)
  np.testing.assert_allclose(vmapped, logits, rtol=1e-5, atol=1e-6)


def test_local_discriminators_see_only_their_region():
  params = pconvgan.init_discriminator(jax.random.key(0), (64, 96),
                                       {"width": 0.25, "fc_features": 8})
  images = jax.random.uniform(jax.random.key(1), (1, 64, 96, 3))
  cut = 96 // 3
  for name, block, inside in (("local_left", 1, slice(0, cut)),
                              ("local_right", 2, slice(cut, 96))):
    only = jax.tree.map(lambda x: x, params)
    kernel = np.zeros_like(params["combiner"]["kernel"])
    kernel[block * 8:(block + 1) * 8] = 1.0  # keep only this region's features
    only["combiner"] = {"kernel": jnp.asarray(kernel),
                        "bias": params["combiner"]["bias"]}
    grad = np.asarray(jax.grad(
        lambda x: pconvgan.apply_discriminator(only, x).sum())(images))
    outside = np.ones(96, bool)
    outside[inside] = False
    assert np.all(grad[:, :, outside] == 0), name
    assert np.any(grad[:, :, inside] != 0), name


def test_wrong_image_size_is_refused():
  params = pconvgan.init_discriminator(jax.random.key(0), (64, 64),
                                       {"width": 0.25, "fc_features": 8})
  # The global network at width 0.25 ends with 32 channels; five halvings
  # take 96x64 to 3x2 (192 features), 64x64 to 2x2 (128).
  with pytest.raises(ValueError, match="made for another image size: the "
                     r"input \(1, 96, 64, 3\) flattens to 192 features, the "
                     "fully connected layer takes 128"):
    pconvgan.apply_discriminator(params, jnp.zeros((1, 96, 64, 3)))
  # Smaller than made for: refused the same way (32x64 to 1x2, 64 features).
  with pytest.raises(ValueError, match=r"input \(1, 32, 64, 3\) flattens to "
                     "64 features, the fully connected layer takes 128"):
    pconvgan.apply_discriminator(params, jnp.zeros((1, 32, 64, 3)))
  with pytest.raises(ValueError, match="multiples of 32"):
    pconvgan.init_discriminator(jax.random.key(0), (100, 64))
  with pytest.raises(ValueError, match="multiples of 32, got 33x64"):
    pconvgan.apply_discriminator(params, jnp.zeros((1, 33, 64, 3)))


@pytest.mark.parametrize("local", [True, False])
def test_discriminator_matches_an_independent_numpy_forward(local):
  """Table 2's networks (conv K5 S2 + ReLU, fully connected + ReLU, the
  combiner) and their regions against tests/numpy_nets.py, with every bias
  random."""
  import numpy_nets  # pylint: disable=import-outside-toplevel
  rng = np.random.default_rng(0)
  params = pconvgan.init_discriminator(
      jax.random.key(1), (64, 96),
      {"width": 0.25, "fc_features": 16, "local": local})
  params = jax.tree_util.tree_map_with_path(
      lambda p, x: x if "kernel" in jax.tree_util.keystr(p) else jnp.asarray(
          rng.normal(0, 0.3, x.shape), jnp.float32), params)
  images = rng.random((3, 64, 96, 3)).astype(np.float32)
  got = pconvgan.apply_discriminator(params, images)
  want = numpy_nets.discriminator(jax.tree.map(np.asarray, params), images)
  assert np.std(want) > 0.01
  np.testing.assert_allclose(np.asarray(got), want, rtol=1e-4, atol=1e-4)


def test_width_scales_every_convolution_and_params_are_checked():
  params = pconvgan.init_discriminator(jax.random.key(0), (64, 64),
                                       {"width": 0.25, "fc_features": 8})
  for name, filters in (("global", (32, 64, 64, 128, 128)),
                        ("local_left", (32, 64, 64, 128))):
    assert [c["kernel"].shape[-1] for c in params[name]["convs"]] == [
        f // 4 for f in filters]
  for missing in ("combiner", "global"):
    broken = {k: v for k, v in params.items() if k != missing}
    present = sorted(broken)
    with pytest.raises(ValueError, match="params must be the dict returned by "
                       f"pconvgan.init_discriminator, got keys {re.escape(str(present))}"):
      pconvgan.apply_discriminator(broken, jnp.zeros((1, 64, 64, 3)))


def test_one_fully_connected_feature_is_allowed_and_none_refused():
  params = pconvgan.init_discriminator(jax.random.key(0), (32, 32),
                                       {"width": 0.25, "fc_features": 1})
  assert pconvgan.apply_discriminator(params, jnp.zeros((2, 32, 32, 3))).shape == (2,)
  with pytest.raises(ValueError, match="fc_features must be >= 1, got 0"):
    pconvgan.discriminator.DiscriminatorConfig(fc_features=0)


def test_the_default_image_size_is_the_paper_s_128():
  default = jax.eval_shape(lambda: pconvgan.init_discriminator(jax.random.key(0)))
  paper = jax.eval_shape(lambda: pconvgan.init_discriminator(
      jax.random.key(0), (128, 128)))
  assert jax.tree.map(lambda x: x.shape, default) == jax.tree.map(
      lambda x: x.shape, paper)


@pytest.mark.parametrize("width", [0.0, -0.5])
def test_a_width_that_is_not_positive_is_refused(width):
  with pytest.raises(ValueError, match=f"width must be > 0, got {width}"):
    pconvgan.discriminator.DiscriminatorConfig(width=width)
  # Any positive width, below 1 or above, is a width.
  for ok in (0.01, 0.5, 2.0):
    assert pconvgan.discriminator.DiscriminatorConfig(width=ok).width == ok


def test_a_tiny_width_keeps_one_filter_per_convolution():
  params = pconvgan.init_discriminator(jax.random.key(0), (64, 64),
                                       {"width": 0.001, "fc_features": 4})
  for name in ("global", "local_left", "local_right"):
    assert [c["kernel"].shape[-1] for c in params[name]["convs"]] == [1] * len(
        params[name]["convs"])
  logits = pconvgan.apply_discriminator(params, jnp.ones((2, 64, 64, 3)))
  assert logits.shape == (2,) and bool(jnp.all(jnp.isfinite(logits)))
