"""Photographs as people have them: read upright, written back as they came.

``read`` applies the EXIF orientation (so a mask drawn on the photograph as
it is displayed fits it) and keeps what the fill must not lose: the alpha
channel, the colour profile, the EXIF data, a JPEG's quantisation tables and
chroma subsampling, and 16-bit greyscale samples. ``write`` puts them back
where the output format allows (alpha in PNG / WebP / TIFF; 16 bits in PNG
and TIFF; a JPEG input's quality in a JPEG output).
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np
from PIL import Image
from PIL import ImageOps
from PIL import JpegImagePlugin

from pconvgan import data

ALPHA_FORMATS = ("PNG", "WEBP", "TIFF")
SIXTEEN_BIT_FORMATS = ("PNG", "TIFF")
JPEG_QUALITY = 95  # for a JPEG written from a photograph that was not one


@dataclasses.dataclass
class Photo:
  """A decoded photograph. ``pixels``: float32 (H, W, 3) in [0, 1], upright."""
  pixels: np.ndarray
  alpha: np.ndarray | None = None  # uint8 (H, W)
  sixteen_bit: bool = False  # 16-bit greyscale samples
  icc_profile: bytes | None = None
  exif: bytes | None = None  # orientation reset: the pixels are upright
  jpeg: dict = dataclasses.field(default_factory=dict)  # qtables, subsampling
  format: str | None = None  # Pillow's name of the file's format, e.g. 'JPEG'


def to_uint8(pixels: np.ndarray) -> np.ndarray:
  """8-bit samples of float ``pixels`` in [0, 1], converted in bands of rows
  (no full-size float temporary for a large photograph)."""
  out = np.empty(pixels.shape, np.uint8)
  for i in range(0, pixels.shape[0], 256):
    out[i:i + 256] = np.round(np.clip(pixels[i:i + 256], 0, 1) * 255)
  return out


def oriented_size(path: str) -> tuple[int, int]:
  """(width, height) of an image as displayed (its EXIF orientation applied),
  from the header only."""
  with Image.open(path) as image:
    w, h = image.size
    orientation = image.getexif().get(0x0112, 1)
  return (h, w) if orientation in (5, 6, 7, 8) else (w, h)


def read(path) -> Photo:
  """The photograph at ``path`` (a path or a binary file object); raises
  OSError / ValueError if unreadable. Memory: the decoded 8-bit image is
  freed before the float pixels are made, band by band."""
  with Image.open(path) as image:
    image.load()
    info, fmt = dict(image.info), image.format
    jpeg = {}
    if image.format == "JPEG":
      jpeg = {"qtables": image.quantization,
              "subsampling": JpegImagePlugin.get_sampling(image)}
    exif = image.getexif()
    upright = ImageOps.exif_transpose(image)
  if 0x0112 in exif:
    del exif[0x0112]
  mode = upright.mode
  alpha = None
  if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in info):
    alpha = np.asarray(upright.convert("RGBA"))[..., 3].copy()
  sixteen = mode.startswith("I;16")
  if sixteen:
    grey = np.asarray(upright, np.float32) / 65535.0
    pixels = np.repeat(np.clip(grey, 0, 1)[..., None], 3, axis=-1)
  else:
    samples = np.asarray(data.to_rgb(upright))  # uint8 (H, W, 3)
    del upright
    pixels = np.empty(samples.shape, np.float32)
    for i in range(0, samples.shape[0], 256):
      np.multiply(samples[i:i + 256], np.float32(1 / 255), out=pixels[i:i + 256])
  return Photo(pixels, alpha, sixteen, info.get("icc_profile"),
               exif.tobytes() if len(exif) else None, jpeg, fmt)


def write(path: str, pixels: np.ndarray, like: Photo | None = None) -> None:
  """Writes float (H, W, 3) ``pixels`` in [0, 1] to ``path`` (format from
  the extension), keeping what ``like`` (the input) carried."""
  like = like or Photo(pixels)
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  fmt = Image.registered_extensions().get(os.path.splitext(path)[1].lower())
  if fmt is None:
    raise ValueError(f"cannot tell the image format of output {path} from its "
                     "extension; use .png, .jpg, .webp or .tif")
  if like.sixteen_bit and fmt in SIXTEEN_BIT_FORMATS:
    grey = np.clip(pixels, 0, 1) @ np.array([0.299, 0.587, 0.114], np.float32)
    image = Image.fromarray(np.round(grey * 65535).astype(np.uint16))
  else:
    image = Image.fromarray(to_uint8(pixels))
    if like.alpha is not None and fmt in ALPHA_FORMATS:
      image.putalpha(Image.fromarray(like.alpha))
  options = {}
  if like.icc_profile and fmt in ("PNG", "JPEG", "WEBP", "TIFF"):
    options["icc_profile"] = like.icc_profile
  if like.exif and fmt in ("JPEG", "PNG", "WEBP", "TIFF"):
    options["exif"] = like.exif
  if fmt == "JPEG":
    options.update(like.jpeg or {"quality": JPEG_QUALITY})
  elif fmt == "WEBP":
    options["lossless"] = True
  image.save(path, format=fmt, **options)
