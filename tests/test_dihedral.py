"""Flips and transpositions, and the self-ensemble built on them."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import pconvgan
from pconvgan import dihedral


def test_the_eight_symmetries_by_hand():
  """On a 2x3 grid of distinct values: each symmetry as index arithmetic,
  all eight distinct, and each undone by its inverse."""
  x = np.arange(6).reshape(2, 3, 1)
  h, w = 2, 3
  for t in range(8):
    got = np.asarray(dihedral.transform(jnp.asarray(x), t))
    rows, cols = (w, h) if t & 4 else (h, w)
    want = np.zeros((rows, cols, 1), int)
    for i, j in itertools.product(range(h), range(w)):
      a, b = (h - 1 - i if t & 2 else i), (w - 1 - j if t & 1 else j)
      want[(b, a) if t & 4 else (a, b)] = x[i, j]
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(dihedral.invert(got, t), x)
  results = {(np.asarray(dihedral.transform(jnp.asarray(x), t)).shape,
              np.asarray(dihedral.transform(jnp.asarray(x), t)).tobytes())
             for t in range(8)}
  assert len(results) == 8


def test_average_by_hand():
  """With fn = 'add the column index', the average over the left-right flip
  is the mean column index, (W - 1) / 2, everywhere."""
  image = jnp.zeros((1, 4, 6, 1))
  mask = jnp.ones((1, 4, 6, 1))
  fn = lambda x, m: x + jnp.arange(x.shape[-2])[:, None].astype(x.dtype)
  np.testing.assert_allclose(dihedral.average(fn, image, mask, 2), 2.5)
  np.testing.assert_allclose(dihedral.average(fn, image, mask, 1),
                             fn(image, mask))
  with pytest.raises(ValueError, match="ensemble must be one of"):
    dihedral.average(fn, image, mask, 3)


def test_ensemble_is_the_mean_of_the_transformed_passes():
  """apply(..., ensemble=8) against eight separate passes undone by hand
  (numpy flips and transposes), on a non-square image."""
  variables = pconvgan.init(jax.random.key(0), {"width": 0.125})
  image = np.asarray(jax.random.uniform(jax.random.key(1), (2, 32, 64, 3)))
  mask = np.ones((2, 32, 64, 1), np.float32)
  mask[:, 5:20, 10:40] = 0
  cfg = {"width": 0.125}
  passes = []
  for flip_w, flip_h, swap in itertools.product((0, 1), repeat=3):
    x, m = image, mask
    if flip_w:
      x, m = x[:, :, ::-1], m[:, :, ::-1]
    if flip_h:
      x, m = x[:, ::-1], m[:, ::-1]
    if swap:
      x, m = x.transpose(0, 2, 1, 3), m.transpose(0, 2, 1, 3)
    out = np.asarray(pconvgan.apply(variables, np.ascontiguousarray(x),
                                    np.ascontiguousarray(m), config=cfg))
    if swap:
      out = out.transpose(0, 2, 1, 3)
    if flip_h:
      out = out[:, ::-1]
    if flip_w:
      out = out[:, :, ::-1]
    passes.append(out)
  got = pconvgan.apply(variables, image, mask, config=cfg, ensemble=8)
  np.testing.assert_allclose(got, np.mean(passes, 0), atol=2e-5)
  assert not np.allclose(got, passes[0], atol=1e-3)
  filled = pconvgan.inpaint(variables, image, mask, config=cfg, ensemble=8)
  np.testing.assert_array_equal(np.asarray(filled)[mask[..., 0] > 0],
                                image[mask[..., 0] > 0])
  with pytest.raises(ValueError, match="ensemble must be 1"):
    pconvgan.apply(variables, image, mask, config=cfg, train=True, ensemble=2)
  with pytest.raises(ValueError, match=r"ensemble must be one of \(1, 2, 4, 8\)"):
    pconvgan.apply(variables, image, mask, config=cfg, ensemble=5)
