"""Photographs as people have them: read upright, written back as they came.

``read`` applies the EXIF orientation (so a mask drawn on the photograph as
it is displayed fits it) and keeps what the fill must not lose: the alpha
channel, the colour profile, the EXIF data, a JPEG's quantisation tables and
chroma subsampling, and 16-bit samples (greyscale, RGB and RGBA). ``write``
puts them back where the output format allows (alpha in PNG / WebP / TIFF;
16 bits in PNG and TIFF; a JPEG input's quality in a JPEG output). Pillow
reads 16-bit colour as 8-bit, so OpenCV decodes and encodes those files and
tifffile writes 16-bit colour TIFFs.
"""

from __future__ import annotations

import dataclasses
import os
import struct
import zlib

import numpy as np
from PIL import Image
from PIL import ImageOps
from PIL import JpegImagePlugin

from pconvgan import data

ALPHA_FORMATS = ("PNG", "WEBP", "TIFF")
SIXTEEN_BIT_FORMATS = ("PNG", "TIFF")
JPEG_QUALITY = 95  # for a JPEG written from a photograph that was not one
# Extensions of the formats outputs are written in.
WRITABLE = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp")


@dataclasses.dataclass
class Photo:
  """A decoded photograph. ``pixels``: float32 (H, W, 3) in [0, 1], upright."""
  pixels: np.ndarray
  alpha: np.ndarray | None = None  # uint8 (H, W), uint16 for 16-bit files
  sixteen_bit: bool = False  # 16-bit samples
  grey: bool = False  # greyscale samples: written back as greyscale
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


def _to_uint16(samples: np.ndarray) -> np.ndarray:
  """16-bit samples of float ``samples`` in [0, 1]."""
  return np.round(np.clip(samples, 0, 1) * 65535).astype(np.uint16)


def oriented_size(path: str) -> tuple[int, int]:
  """(width, height) of an image as displayed (its EXIF orientation applied),
  from the header only."""
  with Image.open(path) as image:
    w, h = image.size
    orientation = image.getexif().get(0x0112, 1)
  return (h, w) if orientation in (5, 6, 7, 8) else (w, h)


# EXIF orientation -> the numpy form of Pillow's ImageOps.exif_transpose.
ORIENTATIONS = {
    2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
    5: lambda a: a.swapaxes(0, 1), 6: lambda a: np.rot90(a, -1),
    7: lambda a: a.swapaxes(0, 1)[::-1, ::-1], 8: lambda a: np.rot90(a, 1)}


def _sixteen_bit_colour(image: Image.Image) -> bool:
  """Whether a not yet loaded PNG or TIFF holds 16-bit RGB(A) samples."""
  if image.format not in SIXTEEN_BIT_FORMATS or not image.tile:
    return False
  args = image.tile[0].args
  rawmode = args if isinstance(args, str) else args[0]
  return str(rawmode).startswith(("RGB;16", "RGBA;16"))


def _read_sixteen_bit_colour(path, orientation: int) -> tuple[np.ndarray,
                                                             np.ndarray | None]:
  """(float32 RGB pixels, uint16 alpha or None) of a 16-bit colour file,
  upright, decoded by OpenCV (which keeps the 16 bits)."""
  import cv2  # pylint: disable=import-outside-toplevel
  if isinstance(path, (str, os.PathLike)):
    samples = cv2.imread(os.fspath(path), cv2.IMREAD_UNCHANGED)
  else:
    path.seek(0)
    samples = cv2.imdecode(np.frombuffer(path.read(), np.uint8),
                           cv2.IMREAD_UNCHANGED)
  if samples is None or samples.dtype != np.uint16 or samples.ndim != 3:
    raise ValueError(f"cannot decode the 16-bit colour samples of {path}")
  samples = ORIENTATIONS.get(orientation, lambda a: a)(samples)
  alpha = samples[..., 3].copy() if samples.shape[-1] == 4 else None
  pixels = samples[..., 2::-1].astype(np.float32) / np.float32(65535)
  return pixels, alpha


def read(path) -> Photo:
  """The photograph at ``path`` (a path or a binary file object); raises
  OSError / ValueError if unreadable. Memory: the decoded 8-bit image is
  freed before the float pixels are made, band by band."""
  with Image.open(path) as image:
    sixteen_colour = _sixteen_bit_colour(image)  # the tile says, before load
    image.load()
    info, fmt, exif = dict(image.info), image.format, image.getexif()
    orientation = exif.get(0x0112, 1)
    jpeg = {}
    if fmt == "JPEG":
      jpeg = {"qtables": image.quantization,
              "subsampling": JpegImagePlugin.get_sampling(image)}
    upright = None if sixteen_colour else ImageOps.exif_transpose(image)
  if 0x0112 in exif:
    del exif[0x0112]
  kept = {"icc_profile": info.get("icc_profile"),
          "exif": exif.tobytes() if len(exif) else None, "jpeg": jpeg,
          "format": fmt}
  if sixteen_colour:
    pixels, alpha = _read_sixteen_bit_colour(path, orientation)
    return Photo(pixels, alpha, sixteen_bit=True, **kept)
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
  return Photo(pixels, alpha, sixteen_bit=sixteen,
               grey=sixteen or mode in ("1", "L", "LA"), **kept)


def write(path: str, pixels: np.ndarray, like: Photo | None = None) -> None:
  """Writes float (H, W, 3) ``pixels`` in [0, 1] to ``path`` (format from
  the extension), keeping what ``like`` (the input) carried."""
  like = like or Photo(pixels)
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  suffix = os.path.splitext(path)[1].lower()
  if suffix not in WRITABLE:
    raise ValueError(writable_error(path))
  fmt = Image.registered_extensions()[suffix]
  if like.sixteen_bit and fmt in SIXTEEN_BIT_FORMATS:
    if not like.grey:
      _write_sixteen_bit_colour(path, fmt, pixels, like)
      return
    grey = np.clip(pixels, 0, 1) @ np.array([0.299, 0.587, 0.114], np.float32)
    image = Image.fromarray(_to_uint16(grey))
  else:
    if like.grey:  # a fill in colour would tint a greyscale photograph
      luma = np.clip(pixels, 0, 1) @ np.array([0.299, 0.587, 0.114], np.float32)
      image = Image.fromarray(to_uint8(luma))
    else:
      image = Image.fromarray(to_uint8(pixels))
    if like.alpha is not None and fmt in ALPHA_FORMATS:
      alpha = like.alpha
      if alpha.dtype == np.uint16:
        alpha = np.round(alpha / np.float32(257)).astype(np.uint8)
      image.putalpha(Image.fromarray(alpha))
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


def keeps_alpha(path: str) -> bool:
  """Whether ``write`` keeps an alpha channel in the format ``path`` names."""
  suffix = os.path.splitext(path)[1].lower()
  return Image.registered_extensions().get(suffix) in ALPHA_FORMATS


def writable_error(path: str) -> str:
  """Why ``path`` cannot be an output: its extension names no format
  ``write`` writes."""
  suffix = os.path.splitext(path)[1]
  what = f"cannot write {suffix} files" if suffix else "has no extension"
  return f"output {path} {what}; end it in one of {', '.join(WRITABLE)}"


def png_chunk(kind: bytes, payload: bytes) -> bytes:
  """One PNG chunk: length, type, payload, CRC."""
  return (struct.pack(">I", len(payload)) + kind + payload
          + struct.pack(">I", zlib.crc32(kind + payload)))


def _write_sixteen_bit_colour(path: str, fmt: str, pixels: np.ndarray,
                              like: Photo) -> None:
  """16-bit RGB(A) PNG (OpenCV, with the profile and EXIF added as iCCP and
  eXIf chunks) or TIFF (tifffile, with the profile)."""
  rgb = _to_uint16(pixels)
  alpha = like.alpha
  if alpha is not None and alpha.dtype != np.uint16:
    alpha = alpha.astype(np.uint16) * 257
  if fmt == "TIFF":
    import tifffile  # pylint: disable=import-outside-toplevel
    samples = rgb if alpha is None else np.dstack([rgb, alpha])
    tifffile.imwrite(path, samples, photometric="rgb",
                     extrasamples=None if alpha is None else ["unassalpha"],
                     iccprofile=like.icc_profile)
    return
  import cv2  # pylint: disable=import-outside-toplevel
  bgr = rgb[..., ::-1] if alpha is None else np.dstack([rgb[..., ::-1], alpha])
  ok, encoded = cv2.imencode(".png", np.ascontiguousarray(bgr))
  if not ok:
    raise OSError(f"could not encode {path}")
  png = encoded.tobytes()
  extra = b""
  if like.icc_profile:
    extra += png_chunk(b"iCCP", b"icc\0\0" + zlib.compress(like.icc_profile))
  if like.exif:
    exif = like.exif[6:] if like.exif.startswith(b"Exif\0\0") else like.exif
    extra += png_chunk(b"eXIf", exif)
  end_of_header = 8 + 25  # signature, then the IHDR chunk
  with open(path, "wb") as f:
    f.write(png[:end_of_header] + extra + png[end_of_header:])
