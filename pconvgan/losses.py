"""The losses of the paper's section 4.4, from logits so that none is inf or NaN.

Notation: ``output`` is the generator's output I_out, ``target`` the ground
truth image, ``mask`` M with 1 = known pixel. n_I is the number of elements of
the image batch (B * H * W * 3), as in the paper, for both MSE terms.

  L_MSE+ = ||(I_out - I) * (1 - M)||^2 / n_I          (hole)
  L_MSE- = ||(I_out - I) * M||^2 / n_I                (known region)
  L_MSE  = L_MSE+ + valid_weight * L_MSE-             (valid_weight = 1/6)
  L_rec  = L_MSE + l1_weight * (L_1+ + valid_weight * L_1-)
           + ssim_weight * (1 - SSIM(I_comp, I))
           + perceptual_weight * L_perceptual + style_weight * L_style
           (not the paper's: the L1 terms, |I_out - I| over n_I, the SSIM of
           the composite I_comp, and Liu et al.'s VGG16 losses of
           ``pconvgan.perceptual`` are off with their weights at 0)
  L_D    = mean(-log D(real) - log(1 - D(fake)))
  L_G    = L_MSE + adv_weight * mean(-log D(fake))    (adv_weight = 1/2000)

with D = sigmoid(logit): -log D = softplus(-logit), -log(1 - D) = softplus(logit).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from pconvgan import perceptual

VALID_WEIGHT = 1.0 / 6.0
ADV_WEIGHT = 1.0 / 2000.0


def _squared_error(output, target, region):
  diff = (output - target) * region
  return jnp.sum(jnp.square(diff)) / output.size


def mse_hole(output: jax.Array, target: jax.Array, mask: jax.Array) -> jax.Array:
  """L_MSE+: squared error in the holes over n_I."""
  return _squared_error(output, target, 1.0 - mask)


def mse_valid(output: jax.Array, target: jax.Array, mask: jax.Array) -> jax.Array:
  """L_MSE-: squared error in the known region over n_I."""
  return _squared_error(output, target, mask)


def mse_terms(output: jax.Array, target: jax.Array, mask: jax.Array,
              valid_weight: float = VALID_WEIGHT) -> dict:
  """{'mse': L_MSE, 'mse_hole': L_MSE+, 'mse_valid': L_MSE-}."""
  hole = mse_hole(output, target, mask)
  valid = mse_valid(output, target, mask)
  return {"mse": hole + valid_weight * valid, "mse_hole": hole,
          "mse_valid": valid}


def _abs_error(output, target, region):
  return jnp.sum(jnp.abs((output - target) * region)) / output.size


def reconstruction_terms(output: jax.Array, target: jax.Array, mask: jax.Array,
                         valid_weight: float = VALID_WEIGHT,
                         l1_weight: float = 0.0,
                         ssim_weight: float = 0.0,
                         perceptual_weight: float = 0.0,
                         style_weight: float = 0.0) -> dict:
  """``mse_terms`` plus 'rec' (L_rec); with ``l1_weight``, 'l1_hole' and
  'l1_valid' (L_1+ and L_1-); with ``ssim_weight``, 'ssim' (the mean SSIM of
  the composite, known pixels from ``target``); with ``perceptual_weight``
  or ``style_weight``, 'perceptual' and 'style' (``pconvgan.perceptual``)."""
  terms = mse_terms(output, target, mask, valid_weight)
  terms["rec"] = terms["mse"]
  if l1_weight:
    terms["l1_hole"] = _abs_error(output, target, 1.0 - mask)
    terms["l1_valid"] = _abs_error(output, target, mask)
    terms["rec"] = terms["mse"] + l1_weight * (
        terms["l1_hole"] + valid_weight * terms["l1_valid"])
  if ssim_weight:
    filled = jnp.where(mask > 0.5, target.astype(output.dtype), output)
    terms["ssim"] = ssim(filled, target)
    terms["rec"] = terms["rec"] + ssim_weight * (1.0 - terms["ssim"])
  if perceptual_weight or style_weight:
    terms.update(perceptual.losses(output, target, mask,
                                   with_style=bool(style_weight)))
    terms["rec"] = terms["rec"] + perceptual_weight * terms["perceptual"]
    if style_weight:
      terms["rec"] = terms["rec"] + style_weight * terms["style"]
  return terms


def _gaussian_window(size: int = 11, sigma: float = 1.5) -> jax.Array:
  x = jnp.arange(size, dtype=jnp.float32) - (size - 1) / 2
  w = jnp.exp(-0.5 * jnp.square(x / sigma))
  return w / jnp.sum(w)


def _band(n: int, window: jax.Array) -> jax.Array:
  """(n - k + 1, n) matrix whose row i is ``window`` at columns i..i+k-1:
  a 'valid' 1-D filter as a matrix product."""
  k = window.size
  offset = jnp.arange(n)[None, :] - jnp.arange(n - k + 1)[:, None]
  inside = (offset >= 0) & (offset < k)
  return jnp.where(inside, window[jnp.clip(offset, 0, k - 1)], 0.0)


def _blur(x: jax.Array, window: jax.Array) -> jax.Array:
  """Separable 'valid' Gaussian filter of each channel of NHWC ``x``.

  Written as two matrix products with banded matrices: XLA's CPU backend
  runs those many times faster than a depthwise or one-channel convolution.
  """
  rows, cols = _band(x.shape[1], window), _band(x.shape[2], window)
  x = jnp.einsum("jw,bhwc->bhjc", cols, x)
  return jnp.einsum("ih,bhjc->bijc", rows, x)


def ssim(x: jax.Array, y: jax.Array) -> jax.Array:
  """Mean SSIM (Wang et al. 2004) of NHWC images in [0, 1]: Gaussian window
  11 / sigma 1.5, K1 0.01, K2 0.03, over channels and valid window positions
  (what ``metrics.ssim`` reports, per batch and differentiable)."""
  if min(x.shape[1:3]) < 11:
    raise ValueError(f"ssim needs images of at least 11x11, got {x.shape[1:3]}")
  w = _gaussian_window()
  x, y = x.astype(jnp.float32), y.astype(jnp.float32)
  mx, my, xx, yy, xy = jnp.split(
      _blur(jnp.concatenate([x, y, x * x, y * y, x * y], -1), w), 5, -1)
  vx, vy, cxy = xx - mx * mx, yy - my * my, xy - mx * my
  c1, c2 = 0.01 ** 2, 0.03 ** 2
  s = ((2 * mx * my + c1) * (2 * cxy + c2)) / (
      (mx * mx + my * my + c1) * (vx + vy + c2))
  return jnp.mean(s)


def mse_loss(output: jax.Array, target: jax.Array, mask: jax.Array,
             valid_weight: float = VALID_WEIGHT) -> jax.Array:
  """L_MSE = L_MSE+ + valid_weight * L_MSE-."""
  return mse_terms(output, target, mask, valid_weight)["mse"]


def discriminator_loss(real_logits: jax.Array, fake_logits: jax.Array) -> jax.Array:
  """L_D = -log D(real) - log(1 - D(fake)), averaged over the batch."""
  return jnp.mean(jax.nn.softplus(-real_logits)) + jnp.mean(
      jax.nn.softplus(fake_logits))


def adversarial_loss(fake_logits: jax.Array) -> jax.Array:
  """-log D(fake), averaged over the batch (the generator's adversarial term)."""
  return jnp.mean(jax.nn.softplus(-fake_logits))


def generator_loss(output: jax.Array, target: jax.Array, mask: jax.Array,
                   fake_logits: jax.Array, adv_weight: float = ADV_WEIGHT,
                   valid_weight: float = VALID_WEIGHT) -> jax.Array:
  """L_G = L_MSE + adv_weight * (-log D(fake))."""
  return (mse_loss(output, target, mask, valid_weight)
          + adv_weight * adversarial_loss(fake_logits))
