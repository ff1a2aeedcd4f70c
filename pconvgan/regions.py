"""Any hole in a photograph of any size, filled by the model at a scale it
can reach.

The U-Net's partial convolutions pass known pixels on only so far: a hole
pixel deeper than that inside a hole gets no information and the constant
output sigmoid(0) (``generator.reached``). So each hole region is filled
from a crop around it, with context on every side, scaled down only as far
as needed for its deepest pixel to lie within ``depth`` model pixels of a
known one: a small hole in a large photograph is filled at full resolution.
A large hole is filled coarse to fine: at the coarsest scale the model
fills all of it; at each finer scale (doubling up to full resolution) it
refills the band it can reach, from the real known pixels outwards, with the
coarser fill given as known deeper inside. The fill is pasted into the hole
only; known pixels are returned exactly.

    filled = pconvgan.inpaint_image(variables, image, hole, config=config)
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
from scipy import ndimage

from pconvgan import checks
from pconvgan import dihedral
from pconvgan import generator

# Depth (distance of a hole pixel from the nearest known one, in model
# pixels) filled at each scale: inside what the U-Net reaches from every
# side (generator.reached) and what the photo recipe's masks train on.
DEPTH = 24
# Known context kept around a region on each side, in model pixels.
CONTEXT = 64
# Holes this close (photo pixels, in rows and columns) are filled as one
# region; somewhat farther ones may be too (they are grouped by tiles).
GROUP = 16


def _bucket(n: int) -> int:
  """The padded size of a side: few distinct shapes, so few compilations."""
  step = 32 if n <= 256 else 64 if n <= 512 else 128
  return -(-n // step) * step


def _resize(array: np.ndarray, height: int, width: int, method: str
            ) -> np.ndarray:
  if array.shape[:2] == (height, width):
    return array
  out = jax.image.resize(jnp.asarray(array, jnp.float32),
                         (height, width) + array.shape[2:], method,
                         antialias=True)
  return np.asarray(out)


def _run(variables, image: np.ndarray, known: np.ndarray, config,
         ensemble: int = 1) -> tuple[np.ndarray, np.ndarray]:
  """(output, reached) of the generator on one (h, w) crop, reflect-padded
  to a bucketed size and cropped back."""
  h, w = known.shape
  ph, pw = _bucket(max(h, 32)) - h, _bucket(max(w, 32)) - w
  stack = np.concatenate([image, known[..., None].astype(np.float32)], -1)
  mode = "reflect" if h > ph and w > pw else "symmetric"
  stack = np.pad(stack, ((0, ph), (0, pw), (0, 0)), mode=mode)
  out = generator.apply_generator(variables, stack[..., :3], stack[..., 3:],
                                  config=config, ensemble=ensemble)
  reach = generator.reached(jnp.asarray(stack[..., 3:]))
  return np.asarray(out)[:h, :w], np.asarray(reach)[:h, :w, 0] > 0


def _box(where: np.ndarray, margin: int) -> tuple[slice, slice]:
  rows, cols = np.nonzero(where)
  h, w = where.shape
  return (slice(max(0, rows.min() - margin), min(h, rows.max() + 1 + margin)),
          slice(max(0, cols.min() - margin), min(w, cols.max() + 1 + margin)))


def _fill_at_scale(variables, image, known, todo, scale, config, ensemble=1,
                   sparse=False):
  """Model output for the pixels ``todo`` (bool) at ``scale``: the crop
  around them, scaled, run, scaled back. Returns (rows, cols, fill, ok).

  A model pixel is known if every photo pixel under it is; with ``sparse``
  (for masks whose known pixels are too thin to survive that, such as a
  single known row), if any is, with the mean of its known photo pixels."""
  rows, cols = _box(todo, math.ceil(CONTEXT / scale))
  crop, crop_known = image[rows, cols], known[rows, cols]
  h, w = crop_known.shape
  sh, sw = max(1, round(h * scale)), max(1, round(w * scale))
  weight = _resize(crop_known.astype(np.float32)[..., None], sh, sw,
                   "linear")[..., 0]
  if sparse:
    summed = _resize(np.where(crop_known[..., None], crop, 0.0), sh, sw,
                     "linear")
    small_known = weight > 1e-3
    small = np.where(small_known[..., None],
                     summed / np.maximum(weight, 1e-3)[..., None], 0.0)
    small = np.clip(small, 0.0, 1.0)
  else:
    small = _resize(crop, sh, sw, "linear")
    small_known = weight > 1 - 1e-3
  out, reach = _run(variables, small, small_known, config, ensemble)
  fill = _resize(out, h, w, "cubic") if (sh, sw) != (h, w) else out
  reach_full = _resize(reach.astype(np.float32)[..., None], h, w,
                       "nearest")[..., 0] > 0.5 if (sh, sw) != (h, w) else reach
  ok = bool(reach_full[todo[rows, cols]].all())
  return rows, cols, np.clip(fill, 0.0, 1.0), ok


def _grow(box: tuple[slice, slice], margin: int, shape) -> tuple[slice, slice]:
  rows, cols = box
  return (slice(max(0, rows.start - margin), min(shape[0], rows.stop + margin)),
          slice(max(0, cols.start - margin), min(shape[1], cols.stop + margin)))


def _in_group(tile_labels: np.ndarray, number: int, box: tuple[slice, slice]
              ) -> np.ndarray:
  """bool over ``box``: pixels whose GROUP-pixel tile is in group ``number``."""
  rows, cols = box
  r0, c0 = rows.start // GROUP, cols.start // GROUP
  tiles = tile_labels[r0:-(-rows.stop // GROUP), c0:-(-cols.stop // GROUP)]
  pixels = np.repeat(np.repeat(tiles == number, GROUP, 0), GROUP, 1)
  top, left = rows.start - r0 * GROUP, cols.start - c0 * GROUP
  return pixels[top:top + rows.stop - rows.start, left:left + cols.stop - cols.start]


def _hole_groups(hole: np.ndarray
                 ) -> tuple[list[tuple[int, tuple[slice, slice]]], np.ndarray]:
  """The groups of hole pixels that share a crop, as (number, tight box of
  its hole pixels), and the group number of each GROUP x GROUP tile. Holes
  closer than GROUP pixels in rows and in columns always share a group, as
  their tiles touch; no full-size array is made but the hole itself."""
  h, w = hole.shape
  tiles = np.zeros((-(-h // GROUP), -(-w // GROUP)), bool)
  for i in range(tiles.shape[0]):  # a band of rows at a time
    cols = np.nonzero(hole[i * GROUP:(i + 1) * GROUP].any(axis=0))[0]
    tiles[i, np.unique(cols // GROUP)] = True
  tile_labels, _ = ndimage.label(tiles, structure=np.ones((3, 3)))
  groups = []
  for number, (rs, cs) in enumerate(ndimage.find_objects(tile_labels), 1):
    box = (slice(rs.start * GROUP, min(h, rs.stop * GROUP)),
           slice(cs.start * GROUP, min(w, cs.stop * GROUP)))
    mine = hole[box] & _in_group(tile_labels, number, box)
    r = np.nonzero(mine.any(axis=1))[0]
    c = np.nonzero(mine.any(axis=0))[0]
    groups.append((number, (slice(box[0].start + r[0], box[0].start + r[-1] + 1),
                            slice(box[1].start + c[0], box[1].start + c[-1] + 1))))
  return groups, tile_labels


def region_scales(depth_px: float, depth: float = DEPTH) -> list[float]:
  """The scales (coarsest first, ending at 1) that fill a hole region whose
  deepest pixel is ``depth_px`` photo pixels from a known one."""
  scale = min(1.0, depth / max(depth_px, 1e-9))
  scales = [scale]
  while scales[-1] < 1.0:
    scales.append(min(1.0, scales[-1] * 2))
  return scales


def checked_photo(image, hole) -> tuple[np.ndarray, np.ndarray]:
  """(float32 image, bool hole) of ``inpaint_image``'s arguments, or a
  ValueError that names what is wrong and the conversion that fixes it."""
  image = np.asarray(image)
  if image.ndim != 3 or image.shape[-1] != 3:
    raise ValueError(f"image must be (H, W, 3), got shape {image.shape}")
  if not np.issubdtype(image.dtype, np.floating):
    raise ValueError(f"image must be floating point in [0, 1], got dtype "
                     f"{image.dtype}; convert 8-bit images with "
                     f"image.astype('float32') / 255")
  hole = np.asarray(hole)
  checks.check_hole(hole, image.shape)
  checks.check_range(image, ~hole[..., None])
  return np.asarray(image, np.float32), hole


MaskCoverageWarning = checks.MaskCoverageWarning


def inpaint_image(variables: dict, image: np.ndarray, hole: np.ndarray, *,
                  config: Any = None, depth: float = DEPTH,
                  refine: bool = True, ensemble: int = 1,
                  progress: Callable[[int, int], None] | None = None
                  ) -> np.ndarray:
  """Inpaints one image of any size with holes of any size.

  image: float (H, W, 3) in [0, 1]; hole: bool (H, W), True = hole (the
  opposite of ``pconvgan.inpaint``'s mask, 1 = known; other dtypes, shapes
  and value ranges are refused, naming the conversion). Returns
  float32 (H, W, 3) whose known pixels are ``image``'s exactly and whose
  every hole pixel is the model's fill (never the constant output of an
  unreached pixel). ``depth``: how deep into a hole the model fills at one
  scale, in model pixels; ``refine=False`` stops at the coarsest scale.
  ``ensemble``: each model pass averaged over that many flips and
  transpositions (1, 2, 4 or 8; see ``pconvgan.apply``).
  ``progress(done, total)`` is called before the first and after every model
  pass (one per region and scale). A hole over most of the image (an
  inverted mask?) is warned of (MaskCoverageWarning).
  """
  image, hole = checked_photo(image, hole)
  coverage = checks.coverage_warning(hole, "(True = hole)")
  if coverage and not hole.all():
    warnings.warn(f"the hole {coverage}", MaskCoverageWarning, stacklevel=2)
  return fill_holes(variables, image, hole, config=config, depth=depth,
                    refine=refine, ensemble=ensemble, progress=progress)


def fill_holes(variables: dict, image: np.ndarray, hole: np.ndarray, *,
               config: Any = None, depth: float = DEPTH, refine: bool = True,
               ensemble: int = 1,
               progress: Callable[[int, int], None] | None = None
               ) -> np.ndarray:
  """``inpaint_image`` without its coverage warning, for callers that say
  it their own way (the command line, the page)."""
  image, hole = checked_photo(image, hole)
  cfg = checks.as_config(generator.GeneratorConfig, config)
  dihedral.check_count(ensemble)
  if not hole.any():
    return image.copy()
  if hole.all():
    raise ValueError("the mask is all hole: there is nothing to fill from")
  result = image.copy()
  plan = []  # (outer box, this group's hole pixels in it, its scales)
  groups, tile_labels = _hole_groups(hole)
  for number, box in groups:
    # The nearest known pixel of a group's hole pixel lies within one pixel
    # of the group's box (the ring around it holds no other hole).
    inner = _grow(box, 1, hole.shape)
    deepest = ndimage.distance_transform_edt(hole[inner]).max()
    scales = region_scales(float(deepest), depth)
    scales = scales if refine else scales[:1]
    # Context for the coarsest scale, and for coarser retries.
    outer = _grow(box, math.ceil(1.5 * CONTEXT / scales[0]), hole.shape)
    mine = hole[outer] & _in_group(tile_labels, number, outer)
    plan.append((outer, mine, scales))
  total, done = sum(len(scales) for *_, scales in plan), 0
  if progress:
    progress(done, total)
  for region, (outer, mine, scales) in enumerate(plan, 1):
    # Every array below is of the outer box only: memory and time follow
    # the holes, not the photograph.
    known = ~hole[outer]
    local = result[outer]  # a view: writes land in result
    # Distance of each hole pixel from the nearest known pixel, in photo pixels.
    distance = ndimage.distance_transform_edt(~known)
    filled = np.zeros_like(mine)  # pixels of this group filled so far
    for scale in scales:
      # At this scale the model fills what lies within ``depth`` model
      # pixels of real known pixels; deeper pixels keep the coarser fill.
      band = mine & (distance <= depth / scale) if filled.any() else mine
      given = known | (mine & filled & ~band)
      start = scale
      # A shape the reach estimate missed: go coarser; known pixels too thin
      # to be seen at a coarse scale: count partly known model pixels.
      for scale, sparse in [(start * 0.75 ** i, sparse) for i in range(8)
                            for sparse in (False, True)]:
        rows, cols, fill, ok = _fill_at_scale(
            variables, np.where(given[..., None], local, 0.0), given, band,
            scale, cfg, ensemble, sparse=sparse)
        if ok:
          break
      if not ok:
        raise ValueError(f"hole region {region} cannot be filled: the mask "
                         "leaves too few known pixels around it")
      target = band[rows, cols]
      if filled.any():
        # Full weight near the known pixels, none at the band's inner edge:
        # no ring where the finer fill meets the coarser one.
        reach = depth / scale
        weight = np.clip((reach - distance[rows, cols]) / (0.5 * reach), 0, 1)
        fill = weight[..., None] * fill + (1 - weight[..., None]) * local[rows, cols]
      local[rows, cols][target] = fill[target]
      filled |= band
      done += 1
      if progress:
        progress(done, total)
  return result
