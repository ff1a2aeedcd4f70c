"""Poisson blending: what it is for (an output off by a constant colour
comes back in the known pixels' colour), in place, at the image's edges."""

import numpy as np
import pytest

from pconvgan import poisson


def striped(height=64, width=96):
  """A truth with sharp 3-pixel stripes: a fill blended one pixel off its
  place is far from it."""
  y, x = np.mgrid[0:height, 0:width]
  stripes = ((x // 3 + y // 3) % 2).astype(np.float32)
  return np.stack([0.3 + 0.4 * stripes, 0.6 - 0.3 * stripes,
                   0.2 + 0.1 * x / width], -1).astype(np.float32)


@pytest.mark.parametrize("box", [(10, 30, 20, 51), (10, 31, 20, 50),
                                 (0, 17, 80, 96), (40, 64, 0, 9),
                                 (5, 60, 3, 93)])
def test_an_output_off_by_a_constant_comes_back_as_the_truth(box):
  """The blend keeps the output's gradients (the truth's here) and takes its
  level from the known pixels around the hole: the truth, to float
  precision (odd and even sizes, holes on each edge and in two corners of
  the image, whose edges are free)."""
  truth = striped()
  mask = np.ones((64, 96, 1), np.float32)
  r0, r1, c0, c1 = box
  mask[r0:r1, c0:c1] = 0
  hole = mask[..., 0] == 0
  off = truth + 0.15  # the network's whole output, off by a constant
  out = poisson.blend(off, truth, mask)
  assert out.dtype == np.float32 and out.shape == truth.shape
  np.testing.assert_allclose(out, truth, atol=1e-5)
  np.testing.assert_array_equal(out[~hole], truth[~hole])
  # What is under the hole in the image (the truth, in an evaluation) is
  # never read.
  garbage = np.where(hole[..., None], 1 - truth, truth)
  np.testing.assert_array_equal(poisson.blend(off, garbage, mask), out)


def test_two_holes_each_take_their_own_surroundings():
  """Two holes in differently coloured halves, one flat output for both:
  each comes back in its half's colour."""
  truth = np.zeros((32, 64, 3), np.float32)
  truth[:, :32] = (0.2, 0.3, 0.4)
  truth[:, 32:] = (0.8, 0.7, 0.6)
  mask = np.ones((32, 64, 1), np.float32)
  mask[8:20, 6:20, 0] = 0
  mask[10:24, 40:56, 0] = 0
  fill = np.full_like(truth, 0.5)
  out = poisson.blend(fill, truth, mask)
  np.testing.assert_allclose(out, truth, atol=1e-5)


def test_one_pixel_by_hand():
  """A hole pixel between known 0.2 and 0.6 in a 1 x 3 image, the output
  0.5 there and 0 beside it: 2 f - (0.2 + 0.6) = (0.5 - 0) + (0.5 - 0), so
  f = 0.9; the image's edges above and below add no equation."""
  image = np.array([[[0.2] * 3, [0.0] * 3, [0.6] * 3]], np.float32)
  output = np.array([[[0.0] * 3, [0.5] * 3, [0.0] * 3]], np.float32)
  mask = np.array([[[1.0], [0.0], [1.0]]], np.float32)
  out = poisson.blend(output, image, mask)
  np.testing.assert_allclose(out[0, 1], 0.9, rtol=1e-6)
  np.testing.assert_array_equal(out[0, [0, 2]], image[0, [0, 2]])
  # Clipped to [0, 1]: the same with known 0.6 and 0.8 would be 1.2.
  image[0, 0], image[0, 2] = 0.6, 0.8
  np.testing.assert_allclose(poisson.blend(output, image, mask)[0, 1], 1.0)


def reference_blend(output, image, hole):
  """The fill as least squares over the image's edges, written out one edge
  at a time: for each pair of 4-neighbours inside the image with a hole
  pixel among them, f_p - f_q should be output_p - output_q (f = image at a
  known pixel). Its normal equations are the discrete Poisson equation with
  free image edges; solved densely, then clipped."""
  height, width = hole.shape
  pixels = [(y, x) for y in range(height) for x in range(width) if hole[y, x]]
  number = {p: i for i, p in enumerate(pixels)}
  rows, rhs = [], []
  for y in range(height):
    for x in range(width):
      for qy, qx in ((y + 1, x), (y, x + 1)):  # each edge once
        if qy >= height or qx >= width or not (hole[y, x] or hole[qy, qx]):
          continue
        row = np.zeros(len(pixels))
        value = output[y, x].astype(np.float64) - output[qy, qx]
        for (py, px), sign in (((y, x), 1.0), ((qy, qx), -1.0)):
          if hole[py, px]:
            row[number[(py, px)]] += sign
          else:
            value = value - sign * image[py, px]
        rows.append(row)
        rhs.append(value)
  solved = np.linalg.lstsq(np.array(rows), np.array(rhs), rcond=None)[0]
  result = image.astype(np.float64).copy()
  for i, (y, x) in enumerate(pixels):
    result[y, x] = np.clip(solved[i], 0, 1)
  return result


def test_random_fills_against_least_squares_over_the_edges_one_by_one():
  """Outputs with gradients of their own (not the truth's), holes on every
  edge and corner, a solution that leaves [0, 1] and is clipped."""
  rng = np.random.default_rng(3)
  image = rng.random((9, 11, 3)).astype(np.float32)
  output = rng.random((9, 11, 3)).astype(np.float32) * 1.3 - 0.15
  hole = np.zeros((9, 11), bool)
  hole[0:3, 0:4] = hole[6:, 8:] = hole[3:7, 4:6] = hole[8, 0] = True
  hole[0, 10] = hole[4, 10] = True
  want = reference_blend(output, image, hole)
  assert (want == 0).any() and (want == 1).any()  # both clips are reached
  got = poisson.blend(output, image, (~hole[..., None]).astype(np.float32))
  np.testing.assert_allclose(got, want, atol=1e-5)


def test_no_hole_gives_the_image_and_no_known_pixel_the_fill():
  rng = np.random.default_rng(0)
  image = rng.random((16, 16, 3)).astype(np.float32)
  fill = rng.random((16, 16, 3)).astype(np.float32)
  np.testing.assert_array_equal(
      poisson.blend(fill, image, np.ones((16, 16, 1), np.float32)), image)
  np.testing.assert_array_equal(
      poisson.blend(fill, image, np.zeros((16, 16, 1), np.float32)), fill)
  # The hole is 0.5 or below, as everywhere in pconvgan.
  half = np.ones((16, 16, 1), np.float32)
  half[4:8, 4:8] = 0.5
  changed = poisson.blend(np.clip(image + 0.2, 0, 1), image, half) != image
  assert changed.any(axis=-1)[4:8, 4:8].any() and not changed[:3].any()
