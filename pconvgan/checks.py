"""Checks of the public API's inputs: shapes and dtypes (static, so jit-safe), configs."""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Mapping

import jax
import jax.numpy as jnp
import numpy as np

MULTIPLE = 32  # the generator downsamples five times by 2
# Known values up to this far outside [0, 1] are taken (a resampling filter's
# overshoot); farther ones are refused (8-bit levels, [-1, 1] images).
RANGE_SLACK = 0.05


def check_image(image: jax.Array, name: str = "image",
                multiple: int = MULTIPLE) -> None:
  """Raises ValueError unless ``image`` is a float (B, H, W, 3) or (H, W, 3)."""
  shape = tuple(getattr(image, "shape", ()))
  if len(shape) not in (3, 4) or shape[-1] != 3:
    raise ValueError(
        f"{name} must be NHWC (B, H, W, 3) or (H, W, 3) with 3 RGB channels, "
        f"got shape {shape}")
  h, w = shape[-3], shape[-2]
  if h % multiple or w % multiple or h == 0 or w == 0:
    raise ValueError(
        f"{name} height and width must be positive multiples of {multiple}, got "
        f"{h}x{w} (shape {shape}); pad or resize it, e.g. with "
        f"pconvgan.inpaint_photos.fill, which reflect-pads any size")
  if not jnp.issubdtype(image.dtype, jnp.floating):
    raise ValueError(
        f"{name} must be floating point in [0, 1], got dtype {image.dtype}; "
        f"convert uint8 images with image.astype('float32') / 255")


def check_mask(mask: jax.Array, image: jax.Array) -> None:
  """Raises ValueError unless ``mask`` is a float or integer (…, H, W, 1)
  matching ``image`` (bool is refused: True = hole is inpaint_image's
  convention, and the opposite of this one)."""
  shape = tuple(getattr(mask, "shape", ()))
  want = tuple(image.shape[:-1]) + (1,)
  if shape != want:
    raise ValueError(
        f"mask must have shape {want} (the image's {tuple(image.shape)} with "
        f"one channel, 1 = known pixel, 0 = hole), got {shape}")
  if getattr(mask, "dtype", None) == bool:
    raise ValueError(
        "mask must be float with 1 = known pixel, 0 = hole, got a bool array; "
        "from a hole with True = hole (pconvgan.inpaint_image's convention) "
        "pass mask = (~hole).astype('float32')")


def check_range(image, known=None, name: str = "image") -> None:
  """Raises ValueError if a concrete (not traced) float image has values
  farther than RANGE_SLACK outside [0, 1] at known pixels (``known``: a mask broadcastable to it, 1 =
  known; None: every pixel), e.g. 8-bit levels in a float array. What is
  under a hole is never read; traced values (under jax.jit) are not checked.
  NumPy images are checked with NumPy: no copy of a large photograph."""
  if isinstance(image, jax.core.Tracer) or isinstance(known, jax.core.Tracer):
    return
  # Concrete arrays held by a function that a user's jit traces: read now,
  # not traced (jnp on them would give tracers).
  with jax.ensure_compile_time_eval():
    _check_concrete_range(image, known, name)


def _check_concrete_range(image, known, name: str) -> None:
  xp = np if isinstance(image, np.ndarray) else jnp
  if (-RANGE_SLACK <= float(xp.min(image))
      and float(xp.max(image)) <= 1 + RANGE_SLACK):
    return  # the usual case: one pass over the image, no temporaries
  where = (xp.ones(xp.shape(image), bool) if known is None
           else xp.broadcast_to(xp.asarray(known) > 0.5, xp.shape(image)))
  if not bool(where.any()):
    return
  low = float(xp.min(xp.where(where, image, xp.inf)))
  high = float(xp.max(xp.where(where, image, -xp.inf)))
  if low < -RANGE_SLACK or high > 1 + RANGE_SLACK:
    hint = ("divide 8-bit levels by 255" if high > 1.5 else
            "map [-1, 1] images with (image + 1) / 2" if low < -0.5 else
            "clip with np.clip(image, 0, 1)")
    raise ValueError(f"{name} values must be in [0, 1] (up to {RANGE_SLACK:g} "
                     f"outside is taken), got {low:g} to {high:g}; {hint}")


def check_hole(hole, image_shape: tuple) -> None:
  """Raises ValueError unless ``hole`` is a bool (H, W) array matching an
  (H, W, 3) image: pconvgan.inpaint_image's convention, True = hole."""
  dtype = getattr(hole, "dtype", None)
  shape = tuple(getattr(hole, "shape", ()))
  if dtype != bool:
    raise ValueError(
        f"hole must be a bool (H, W) array with True = hole, got dtype {dtype} "
        f"shape {shape}; from a mask with 1 = known pixel (pconvgan.inpaint's "
        f"convention) pass hole = mask[..., 0] <= 0.5, from 0/255 mask levels "
        f"hole = levels > 127")
  if shape != tuple(image_shape[:2]):
    want = f"{image_shape[1]}x{image_shape[0]}"
    got = (f"{shape[1]}x{shape[0]}" if len(shape) == 2 else f"shape {shape}")
    raise ValueError(f"hole must be (H, W) = the image's {want} (WxH), got "
                     f"{got}")


# A hole fraction above this is warned of (an inverted mask?): Liu et al.'s
# largest bucket of free-form masks ends at 0.6.
MOST_HOLE = 0.6
FILE_RULE = "(white = the part to fill)"  # mask files' convention


def coverage_warning(hole, rule: str = FILE_RULE) -> str | None:
  """A warning for a hole (bool, True = hole) covering most of the image
  (an inverted mask?); ``rule``: the mask convention to remind of."""
  fraction = float(np.mean(hole))
  if fraction > MOST_HOLE:
    # Rounded down: a mask that leaves pixels known never reads as 100%.
    return (f"covers {math.floor(fraction * 100)}% of the image: is it "
            f"inverted? {rule}")
  return None


class MaskCoverageWarning(UserWarning):
  """The hole covers most of the image: an inverted mask?"""


def check_key(key, name: str = "key") -> None:
  """Raises ValueError unless ``key`` is a JAX random key (new-style or a
  raw uint32 key), e.g. jax.random.key(0)."""
  dtype = getattr(key, "dtype", None)
  raw = dtype == jnp.uint32 and key.shape[-1:] in ((2,), (4,))  # threefry, rbg
  if dtype is None or not (jnp.issubdtype(dtype, jax.dtypes.prng_key) or raw):
    raise ValueError(f"{name} must be a JAX random key, e.g. "
                     f"jax.random.key(0), got {type(key).__name__} "
                     f"{key if dtype is None else dtype}")


def as_batch(x: jax.Array) -> tuple[jax.Array, bool]:
  """Adds a batch axis to an (H, W, C) array; says whether it did."""
  if x.ndim == 3:
    return x[None], True
  return x, False


def as_config(cls: type, config: Any):
  """``config`` as a ``cls`` dataclass: from None, a dataclass or a mapping."""
  if config is None:
    return cls()
  if isinstance(config, cls):
    return config
  if hasattr(config, "to_dict"):  # ml_collections.ConfigDict
    config = config.to_dict()
  if not isinstance(config, Mapping):
    raise TypeError(f"expected a {cls.__name__} or a mapping, got {type(config)}")
  names = {f.name for f in dataclasses.fields(cls)}
  unknown = sorted(set(config) - names)
  if unknown:
    raise ValueError(
        f"unknown {cls.__name__} fields {unknown}; known: {sorted(names)}")
  return cls(**config)
