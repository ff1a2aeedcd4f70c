"""Shape and dtype checks of the public API's inputs (static, so jit-safe)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

MULTIPLE = 32  # the generator downsamples five times by 2


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
        f"pconvgan.inpaint's reflect padding")
  if not jnp.issubdtype(image.dtype, jnp.floating):
    raise ValueError(
        f"{name} must be floating point in [0, 1], got dtype {image.dtype}; "
        f"convert uint8 images with image.astype('float32') / 255")


def check_mask(mask: jax.Array, image: jax.Array) -> None:
  """Raises ValueError unless ``mask`` is (…, H, W, 1) matching ``image``."""
  shape = tuple(getattr(mask, "shape", ()))
  want = tuple(image.shape[:-1]) + (1,)
  if shape != want:
    raise ValueError(
        f"mask must have shape {want} (the image's {tuple(image.shape)} with "
        f"one channel, 1 = known pixel, 0 = hole), got {shape}")


def as_batch(x: jax.Array) -> tuple[jax.Array, bool]:
  """Adds a batch axis to an (H, W, C) array; says whether it did."""
  if x.ndim == 3:
    return x[None], True
  return x, False
