"""Poisson blending of a fill into its photograph (Perez et al. 2003): the
post-processing that Iizuka et al. apply to their fills, and which the
paper says its model does not need (its section 5).

The discrete Poisson equation over the hole's pixels, as OpenCV's
seamlessClone solves it over a rectangle: each hole pixel's value minus its
neighbours' equals the output's, known neighbours fixed at their values.
Solved here directly (a sparse linear system) so that the image's edges
are free, not fixed (seamlessClone fixes the region's bounding box to the
destination, which at an edge is the output itself), and in float32
rather than 8 bits."""

from __future__ import annotations

import numpy as np

from pconvgan import masks

_NEIGHBOURS = ((-1, 0), (1, 0), (0, -1), (0, 1))


def blend(output: np.ndarray, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
  """A generator's ``output`` (H, W, 3) blended into ``image`` (H, W, 3)
  over the hole of ``mask`` (H, W, 1; 1 = known, as everywhere in
  pconvgan), both in [0, 1]: in the hole, the result has the gradients of
  ``output`` and meets the known pixels at its edge, so an output whose
  colour is off by a constant comes back in the known pixels' colour.
  ``output`` is the whole image the network made, not a composite (whose
  step at the hole's edge would be kept as a gradient). Known pixels are
  returned unchanged (and an image with none, ``output``); what ``image``
  holds under the hole is never read. The result is clipped to [0, 1].
  """
  from scipy import sparse  # pylint: disable=import-outside-toplevel
  from scipy.sparse import linalg  # pylint: disable=import-outside-toplevel
  image = np.asarray(image, np.float32)
  output = np.asarray(output, np.float64)
  hole = masks.hole_pixels(mask)
  if not hole.any():
    return image.copy()
  if hole.all():  # no known pixel to blend towards: the output as it is
    return output.astype(np.float32)
  height, width = hole.shape
  rows, cols = np.nonzero(hole)
  count = rows.size
  index = np.full(hole.shape, -1)
  index[rows, cols] = np.arange(count)
  degree = np.zeros(count)
  rhs = np.zeros((count, 3))
  pairs = []  # (hole pixel, hole neighbour) of each -1 in the matrix
  for dy, dx in _NEIGHBOURS:
    r, c = rows + dy, cols + dx
    inside = (r >= 0) & (r < height) & (c >= 0) & (c < width)
    p, r, c = np.nonzero(inside)[0], r[inside], c[inside]
    degree[p] += 1  # beyond the image's edge: no equation (a free edge)
    rhs[p] += output[rows[p], cols[p]] - output[r, c]
    in_hole = hole[r, c]
    pairs.append((p[in_hole], index[r[in_hole], c[in_hole]]))
    rhs[p[~in_hole]] += image[r[~in_hole], c[~in_hole]]
  first = np.concatenate([np.arange(count)] + [p for p, _ in pairs])
  second = np.concatenate([np.arange(count)] + [q for _, q in pairs])
  values = np.concatenate([degree, -np.ones(first.size - count)])
  matrix = sparse.csc_matrix((values, (first, second)), shape=(count, count))
  solved = linalg.spsolve(matrix, rhs).reshape(count, 3)
  result = image.copy()
  result[rows, cols] = np.clip(solved, 0.0, 1.0)
  return result
