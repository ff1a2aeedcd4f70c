"""The losses of section 4.4 against hand-computed values."""

import math

import jax
import jax.numpy as jnp
import numpy as np

from pconvgan import losses


def two_pixel_case():
  """One 1x2 RGB image: pixel 0 known, pixel 1 a hole. n_I = 6."""
  target = np.zeros((1, 1, 2, 3), np.float32)
  output = np.array([[[[0.1, 0.2, 0.3], [0.5, 0.5, 1.0]]]], np.float32)
  mask = np.array([[[[1.0], [0.0]]]], np.float32)
  return output, target, mask


def test_mse_terms_by_hand():
  output, target, mask = two_pixel_case()
  hole = (0.25 + 0.25 + 1.0) / 6  # = 0.25
  valid = (0.01 + 0.04 + 0.09) / 6
  assert math.isclose(float(losses.mse_hole(output, target, mask)), hole,
                      rel_tol=1e-6)
  assert math.isclose(float(losses.mse_valid(output, target, mask)), valid,
                      rel_tol=1e-6)
  assert math.isclose(float(losses.mse_loss(output, target, mask)),
                      hole + valid / 6, rel_tol=1e-6)
  assert math.isclose(float(losses.mse_loss(output, target, mask, 1.0)),
                      hole + valid, rel_tol=1e-6)


def test_discriminator_loss_by_hand():
  # D(real) = sigmoid(0) = 0.5, D(fake) = sigmoid(log 3) = 0.75.
  value = losses.discriminator_loss(jnp.array([0.0]), jnp.array([math.log(3.0)]))
  assert math.isclose(float(value), -math.log(0.5) - math.log(0.25), rel_tol=1e-6)
  # Averaged over the batch.
  value = losses.discriminator_loss(jnp.array([0.0, 0.0]),
                                    jnp.array([0.0, math.log(3.0)]))
  want = -math.log(0.5) + (-math.log(0.5) - math.log(0.25)) / 2
  assert math.isclose(float(value), want, rel_tol=1e-6)


def test_generator_loss_by_hand():
  output, target, mask = two_pixel_case()
  fake = jnp.array([math.log(3.0)])  # D(fake) = 0.75
  want = float(losses.mse_loss(output, target, mask)) - math.log(0.75) / 2000
  assert math.isclose(float(losses.generator_loss(output, target, mask, fake)),
                      want, rel_tol=1e-6)
  want = float(losses.mse_loss(output, target, mask, 0.5)) - 0.1 * math.log(0.75)
  got = losses.generator_loss(output, target, mask, fake, adv_weight=0.1,
                              valid_weight=0.5)
  assert math.isclose(float(got), want, rel_tol=1e-6)


def test_saturated_discriminator_gives_finite_losses_and_gradients():
  # D sure and right: L_D ~ 0. D sure and wrong: L_D ~ 100 + 100, not inf.
  assert float(losses.discriminator_loss(jnp.array([100.0]),
                                         jnp.array([-100.0]))) < 1e-30
  wrong = losses.discriminator_loss(jnp.array([-100.0]), jnp.array([100.0]))
  assert math.isclose(float(wrong), 200.0, rel_tol=1e-6)
  assert math.isclose(float(losses.adversarial_loss(jnp.array([-1000.0]))),
                      1000.0, rel_tol=1e-6)
  grads = jax.grad(losses.discriminator_loss, argnums=(0, 1))(
      jnp.array([-1e4, 1e4]), jnp.array([1e4, -1e4]))
  for g in grads:
    assert np.all(np.isfinite(np.asarray(g)))
  np.testing.assert_allclose(grads[0], [-0.5, 0.0], atol=1e-6)
  np.testing.assert_allclose(grads[1], [0.5, 0.0], atol=1e-6)


def test_the_adversarial_term_is_the_papers_lambda_by_hand():
  """With output = target, L_G is lambda * -log D(fake) alone (lambda =
  1/2000, section 4.4)."""
  output, _, mask = two_pixel_case()
  fake = jnp.array([math.log(3.0)])  # D(fake) = 0.75
  got = float(losses.generator_loss(output, output, mask, fake))
  assert math.isclose(got, -math.log(0.75) / 2000, rel_tol=1e-6)


def test_l1_terms_against_a_nonzero_target():
  rng = np.random.default_rng(0)
  target = rng.random((1, 3, 4, 3)).astype(np.float32)
  output = rng.random((1, 3, 4, 3)).astype(np.float32)
  mask = np.ones((1, 3, 4, 1), np.float32)
  mask[0, 1, 1:3] = 0
  terms = losses.reconstruction_terms(output, target, mask, l1_weight=1.0)
  error = np.abs(output - target)
  n = output.size
  assert np.isclose(terms["l1_hole"], error[0, 1, 1:3].sum() / n)
  assert np.isclose(terms["l1_valid"], (error.sum() - error[0, 1, 1:3].sum()) / n)


def test_reconstruction_terms_add_l1_by_hand():
  target = np.zeros((1, 2, 2, 3), np.float32)
  output = np.full((1, 2, 2, 3), 0.5, np.float32)
  mask = np.ones((1, 2, 2, 1), np.float32)
  mask[0, 0, 0] = 0  # one hole pixel of four
  terms = losses.reconstruction_terms(output, target, mask, valid_weight=0.5,
                                      l1_weight=2.0)
  # n_I = 12: hole |0.5| x 3 channels, known |0.5| x 9.
  assert np.isclose(terms["l1_hole"], 1.5 / 12)
  assert np.isclose(terms["l1_valid"], 4.5 / 12)
  mse = 0.75 / 12 + 0.5 * 2.25 / 12
  assert np.isclose(terms["mse"], mse)
  assert np.isclose(terms["rec"], mse + 2.0 * (1.5 / 12 + 0.5 * 4.5 / 12))
  plain = losses.reconstruction_terms(output, target, mask, valid_weight=0.5)
  assert "l1_hole" not in plain and np.isclose(plain["rec"], mse)


def test_ssim_matches_scikit_image():
  """The differentiable SSIM against skimage's structural_similarity (the
  metric eval.py reports), image by image, on noisy and on smooth images."""
  from skimage.metrics import structural_similarity
  rng = np.random.default_rng(0)
  x = rng.random((2, 24, 30, 3)).astype(np.float32)
  y = np.clip(x + 0.2 * rng.standard_normal(x.shape), 0, 1).astype(np.float32)
  y[1] = np.linspace(0, 1, 24 * 30 * 3).reshape(24, 30, 3)  # unrelated, smooth
  want = np.mean([structural_similarity(
      x[i].astype(np.float64), y[i].astype(np.float64), data_range=1.0,
      channel_axis=-1, gaussian_weights=True, sigma=1.5,
      use_sample_covariance=False, win_size=11) for i in range(2)])
  assert np.isclose(float(losses.ssim(x, y)), want, atol=1e-5)
  assert np.isclose(float(losses.ssim(x, x)), 1.0, atol=1e-6)


def test_ssim_matches_scikit_image_on_dark_images_of_the_window_size():
  """11x13, the smallest height SSIM takes, and dark: means near 0.01,
  where K1's constant (0.01 ** 2) weighs as much as the means do."""
  from skimage.metrics import structural_similarity
  rng = np.random.default_rng(2)
  x = (0.02 * rng.random((1, 11, 13, 3))).astype(np.float32)
  y = (0.02 * rng.random((1, 11, 13, 3))).astype(np.float32)
  want = structural_similarity(
      x[0].astype(np.float64), y[0].astype(np.float64), data_range=1.0,
      channel_axis=-1, gaussian_weights=True, sigma=1.5,
      use_sample_covariance=False, win_size=11)
  assert np.isclose(float(losses.ssim(x, y)), want, atol=1e-5)


def test_ssims_window_is_gaussian_11_taps_sigma_1_5():
  taps = np.arange(11) - 5.0
  want = np.exp(-taps ** 2 / (2 * 1.5 ** 2))
  np.testing.assert_allclose(losses._gaussian_window(), want / want.sum(),
                             rtol=1e-6)


def test_ssim_refuses_images_below_the_window():
  import pytest
  with pytest.raises(ValueError, match=r"at least 11x11, got \(10, 20\)"):
    losses.ssim(np.zeros((1, 10, 20, 3)), np.zeros((1, 10, 20, 3)))
  with pytest.raises(ValueError, match=r"at least 11x11, got \(20, 10\)"):
    losses.ssim(np.zeros((1, 20, 10, 3)), np.zeros((1, 20, 10, 3)))


def test_ssim_term_sees_the_composite_only_in_the_hole():
  """The SSIM term scores the composite: what the output has on known pixels
  neither changes it nor gets a gradient; hole pixels do."""
  rng = np.random.default_rng(1)
  target = rng.random((1, 16, 16, 3)).astype(np.float32)
  output = rng.random((1, 16, 16, 3)).astype(np.float32)
  mask = np.ones((1, 16, 16, 1), np.float32)
  mask[0, 4:10, 5:12] = 0
  terms = losses.reconstruction_terms(output, target, mask, ssim_weight=0.5)
  filled = np.where(mask > 0.5, target, output)
  assert np.isclose(terms["ssim"], float(losses.ssim(filled, target)))
  assert np.isclose(terms["rec"], terms["mse"] + 0.5 * (1 - terms["ssim"]))
  half = np.where(mask > 0.5, 1.0, 0.5).astype(np.float32)  # 0.5 is hole
  assert np.isclose(losses.reconstruction_terms(
      output, target, half, ssim_weight=0.5)["ssim"], terms["ssim"])
  moved = np.where(mask > 0.5, output + 0.3, output)
  assert np.isclose(losses.reconstruction_terms(
      moved, target, mask, ssim_weight=0.5)["ssim"], terms["ssim"])
  grad = jax.grad(lambda o: losses.reconstruction_terms(
      o, target, mask, ssim_weight=1.0)["ssim"])(jnp.asarray(output))
  grad = np.asarray(grad)
  assert np.all(grad[mask[..., 0] > 0.5] == 0)
  assert np.abs(grad[mask[..., 0] < 0.5]).max() > 0
