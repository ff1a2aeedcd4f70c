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
