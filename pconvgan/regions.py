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
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
from scipy import ndimage

from pconvgan import checks
from pconvgan import generator

# Depth (distance of a hole pixel from the nearest known one, in model
# pixels) filled at each scale: inside what the U-Net reaches from every
# side (generator.reached) and what the photo recipe's masks train on.
DEPTH = 24
# Known context kept around a region on each side, in model pixels.
CONTEXT = 64
# Holes this close (photo pixels) are filled as one region.
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


def _run(variables, image: np.ndarray, known: np.ndarray, config
         ) -> tuple[np.ndarray, np.ndarray]:
  """(output, reached) of the generator on one (h, w) crop, reflect-padded
  to a bucketed size and cropped back."""
  h, w = known.shape
  ph, pw = _bucket(max(h, 32)) - h, _bucket(max(w, 32)) - w
  stack = np.concatenate([image, known[..., None].astype(np.float32)], -1)
  mode = "reflect" if h > ph and w > pw else "symmetric"
  stack = np.pad(stack, ((0, ph), (0, pw), (0, 0)), mode=mode)
  out = generator.apply_generator(variables, stack[..., :3], stack[..., 3:],
                                  config=config)
  reach = generator.reached(jnp.asarray(stack[..., 3:]))
  return np.asarray(out)[:h, :w], np.asarray(reach)[:h, :w, 0] > 0


def _box(where: np.ndarray, margin: int) -> tuple[slice, slice]:
  rows, cols = np.nonzero(where)
  h, w = where.shape
  return (slice(max(0, rows.min() - margin), min(h, rows.max() + 1 + margin)),
          slice(max(0, cols.min() - margin), min(w, cols.max() + 1 + margin)))


def _fill_at_scale(variables, image, known, todo, scale, config):
  """Model output for the pixels ``todo`` (bool) at ``scale``: the crop
  around them, scaled, run, scaled back. Returns (rows, cols, fill, ok)."""
  rows, cols = _box(todo, math.ceil(CONTEXT / scale))
  crop, crop_known = image[rows, cols], known[rows, cols]
  h, w = crop_known.shape
  sh, sw = max(1, round(h * scale)), max(1, round(w * scale))
  small = _resize(crop, sh, sw, "linear")
  # A model pixel is known only if every photo pixel under it is.
  small_known = _resize(crop_known.astype(np.float32)[..., None], sh, sw,
                        "linear")[..., 0] > 1 - 1e-3
  out, reach = _run(variables, small, small_known, config)
  fill = _resize(out, h, w, "cubic") if (sh, sw) != (h, w) else out
  reach_full = _resize(reach.astype(np.float32)[..., None], h, w,
                       "nearest")[..., 0] > 0.5 if (sh, sw) != (h, w) else reach
  ok = bool(reach_full[todo[rows, cols]].all())
  return rows, cols, np.clip(fill, 0.0, 1.0), ok


def region_scales(depth_px: float, depth: float = DEPTH) -> list[float]:
  """The scales (coarsest first, ending at 1) that fill a hole region whose
  deepest pixel is ``depth_px`` photo pixels from a known one."""
  scale = min(1.0, depth / max(depth_px, 1e-9))
  scales = [scale]
  while scales[-1] < 1.0:
    scales.append(min(1.0, scales[-1] * 2))
  return scales


def inpaint_image(variables: dict, image: np.ndarray, hole: np.ndarray, *,
                  config: Any = None, depth: float = DEPTH,
                  refine: bool = True,
                  progress: Callable[[int, int], None] | None = None
                  ) -> np.ndarray:
  """Inpaints one image of any size with holes of any size.

  image: float (H, W, 3) in [0, 1]; hole: bool (H, W), True = hole. Returns
  float32 (H, W, 3) whose known pixels are ``image``'s exactly and whose
  every hole pixel is the model's fill (never the constant output of an
  unreached pixel). ``depth``: how deep into a hole the model fills at one
  scale, in model pixels; ``refine=False`` stops at the coarsest scale.
  ``progress(done, total)`` is called before the first and after every model
  pass (one per region and scale).
  """
  image = np.asarray(image, np.float32)
  hole = np.asarray(hole, bool)
  if image.ndim != 3 or image.shape[-1] != 3:
    raise ValueError(f"image must be (H, W, 3), got shape {image.shape}")
  if hole.shape != image.shape[:2]:
    raise ValueError(f"mask size {hole.shape[1]}x{hole.shape[0]} differs from "
                     f"image size {image.shape[1]}x{image.shape[0]} (WxH)")
  cfg = checks.as_config(generator.GeneratorConfig, config)
  if not hole.any():
    return image.copy()
  if hole.all():
    raise ValueError("the mask is all hole: there is nothing to fill from")
  known = ~hole
  # Distance of each hole pixel from the nearest known pixel, in photo pixels.
  distance = ndimage.distance_transform_edt(hole)
  # Holes closer than GROUP pixels share one crop (and one model call).
  near = ndimage.distance_transform_edt(known) <= GROUP
  labels, count = ndimage.label(near, structure=np.ones((3, 3)))
  result = image.copy()
  plan = []  # (region number, its hole pixels, its scales)
  for region in range(1, count + 1):
    mine = hole & (labels == region)
    if mine.any():
      scales = region_scales(float(distance[mine].max()), depth)
      plan.append((region, mine, scales if refine else scales[:1]))
  total, done = sum(len(scales) for *_, scales in plan), 0
  if progress:
    progress(done, total)
  for region, mine, scales in plan:
    filled = np.zeros_like(hole)  # pixels of this region filled so far
    for scale in scales:
      # At this scale the model fills what lies within ``depth`` model
      # pixels of real known pixels; deeper pixels keep the coarser fill.
      band = mine & (distance <= depth / scale) if filled.any() else mine
      given = known | (mine & filled & ~band)
      for attempt in range(8):
        rows, cols, fill, ok = _fill_at_scale(
            variables, np.where(given[..., None], result, 0.0), given, band,
            scale, cfg)
        if ok or attempt == 7:
          break
        scale *= 0.75  # a shape the reach estimate missed: go coarser
      if not ok:
        raise RuntimeError(f"could not reach every hole pixel of region {region}")
      target = band[rows, cols]
      if filled.any():
        # Full weight near the known pixels, none at the band's inner edge:
        # no ring where the finer fill meets the coarser one.
        reach = depth / scale
        weight = np.clip((reach - distance[rows, cols]) / (0.5 * reach), 0, 1)
        fill = weight[..., None] * fill + (1 - weight[..., None]) * result[rows, cols]
      result[rows, cols][target] = fill[target]
      filled |= band
      done += 1
      if progress:
        progress(done, total)
  return result
