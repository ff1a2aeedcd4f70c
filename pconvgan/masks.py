"""Hole masks, made with NumPy: paper, box, free-form and from files.

Arrays returned here are float32 (H, W, 1) with 1 = known pixel, 0 = hole.
Mask *files* follow OpenCV, LaMa and DeepFill: white / non-zero = hole.

Export a mask set to PNG files (white = hole) so that other tools get the very
same masks::

    python -m pconvgan.masks --kind freeform --count 600 --size 256 256 --out masks/
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import sys
from typing import Callable, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageOps

from pconvgan import checks
from pconvgan import files

# The paper's two rectangles at 128x128, (top, bottom, left, right), half-open:
# one inside the left third, one inside the right two thirds.
PAPER_HOLES = ((32, 96, 8, 36), (40, 88, 64, 112))
PAPER_SIZE = 128
# Liu et al.'s hole-to-image ratio buckets, (low, high].
LIU_BUCKETS = ((0.01, 0.1), (0.1, 0.2), (0.2, 0.3), (0.3, 0.4), (0.4, 0.5),
               (0.5, 0.6))
KINDS = ("paper", "box", "freeform", "mix", "folder")
MIXED = ("paper", "box", "freeform")  # the kinds that kind 'mix' draws from
MASK_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif", ".tif",
                   ".tiff")


@dataclasses.dataclass(frozen=True)
class MaskConfig:
  """How masks are made (config section ``mask``).

  Kind 'mix' draws each mask as one of paper, box and freeform with the
  weights ``mix``; evaluation takes the kinds with non-zero weight in turn
  by index. Free-form masks draw one hole-ratio bucket (low, high] each: at
  random when training, in turn by index when evaluating.
  """
  kind: str = "paper"  # paper | box | freeform | mix | folder
  paper_holes: tuple = PAPER_HOLES  # (top, bottom, left, right) at 128 px, scaled
  box_count: tuple = (1, 2)  # min, max rectangles (kind 'box')
  box_size: tuple = (0.15, 0.45)  # min, max side as image fraction ('box')
  buckets: tuple = LIU_BUCKETS  # hole-ratio ranges ('freeform')
  mix: tuple = (1.0, 1.0, 1.0)  # weights of paper, box, freeform ('mix')
  folder: str = ""  # mask images, white = hole ('folder')
  threshold: int = 127  # mask-file pixels above this are hole (0-254)

  def __post_init__(self):
    if self.kind not in KINDS:
      raise ValueError(f"mask kind must be one of {KINDS}, got {self.kind!r}")
    lo, hi = self.box_count
    if not 1 <= lo <= hi:
      raise ValueError(f"mask box_count must be 1 <= min <= max, got {self.box_count}")
    lo, hi = self.box_size
    if not 0 < lo <= hi <= 1:
      raise ValueError(f"mask box_size must be 0 < min <= max <= 1, got {self.box_size}")
    for bucket in self.buckets:
      if len(bucket) != 2 or not 0 <= bucket[0] < bucket[1] < 1:
        raise ValueError(
            f"mask buckets must be (low, high) with 0 <= low < high < 1, got "
            f"{bucket}")
    if len(self.mix) != len(MIXED) or min(self.mix) < 0 or not sum(self.mix) > 0:
      raise ValueError(f"mask mix must be {len(MIXED)} weights >= 0 of "
                       f"{MIXED} with a positive sum, got {self.mix}")
    if not valid_threshold(self.threshold):
      raise ValueError(f"mask threshold must be an integer in 0..254, got "
                       f"{self.threshold!r}")
    if self.kind == "folder" and not self.folder:
      raise ValueError("mask kind 'folder' needs mask.folder, a directory of "
                       "mask images (white = hole)")


def index_rng(seed: int, index: int) -> np.random.Generator:
  """The random generator of mask ``index`` in a set made with ``seed``."""
  return np.random.default_rng([seed, index])


def _known(hole: np.ndarray) -> np.ndarray:
  return (~hole)[..., None].astype(np.float32)


def hole_pixels(mask: np.ndarray) -> np.ndarray:
  """bool (..., H, W): the hole of a (..., H, W, 1) known-pixel mask, 0.5 or
  below (as the generator and the losses binarise; metrics uses this one)."""
  return np.asarray(mask)[..., 0] <= 0.5


def hole_ratio(mask: np.ndarray) -> float:
  """Fraction of hole pixels in a (H, W, 1) known-pixel mask (hole: 0.5 or
  below, as the generator and the metrics binarise)."""
  hole = hole_pixels(mask)
  return np.count_nonzero(hole) / hole.size


def paper_mask(height: int, width: int, holes=PAPER_HOLES) -> np.ndarray:
  """The paper's two rectangles, scaled from 128x128 to ``height`` x ``width``."""
  hole = np.zeros((height, width), bool)
  sy, sx = height / PAPER_SIZE, width / PAPER_SIZE
  for top, bottom, left, right in holes:
    hole[round(top * sy):round(bottom * sy), round(left * sx):round(right * sx)] = True
  return _known(hole)


def box_mask(rng: np.random.Generator, height: int, width: int,
             count=(1, 2), size=(0.15, 0.45)) -> np.ndarray:
  """count[0] to count[1] random rectangles, sides a fraction ``size`` of the image."""
  hole = np.zeros((height, width), bool)
  for _ in range(rng.integers(count[0], count[1] + 1)):
    h = max(1, round(rng.uniform(*size) * height))
    w = max(1, round(rng.uniform(*size) * width))
    top = rng.integers(0, height - h + 1)
    left = rng.integers(0, width - w + 1)
    hole[top:top + h, left:left + w] = True
  return _known(hole)


def _draw_stroke(draw: ImageDraw.ImageDraw, rng: np.random.Generator,
                 height: int, width: int, scale: float) -> tuple[float, float]:
  """One random thick brush stroke (DeepFill v2 style) of a size ~ ``scale``;
  returns its first point (x, y)."""
  side = min(height, width)
  brush = max(1, round(rng.uniform(0.04, 0.12) * side * scale))
  y, x = rng.uniform(0, height), rng.uniform(0, width)
  points = [(x, y)]
  angle = rng.uniform(0, 2 * math.pi)
  for i in range(int(rng.integers(2, 8))):
    angle += rng.uniform(-1.2, 1.2) + (math.pi if i % 2 else 0.0)
    length = rng.uniform(0.05, 0.25) * side * scale
    x = float(np.clip(x + length * math.cos(angle), 0, width - 1))
    y = float(np.clip(y + length * math.sin(angle), 0, height - 1))
    points.append((x, y))
  draw.line(points, fill=255, width=brush, joint="curve")
  r = brush / 2
  for px, py in (points[0], points[-1]):
    draw.ellipse((px - r, py - r, px + r, py + r), fill=255)
  return points[0]


def freeform_mask(rng: np.random.Generator, height: int, width: int,
                  bucket=(0.1, 0.2)) -> np.ndarray:
  """Random brush strokes covering a hole ratio drawn inside ``bucket`` (low, high].

  Strokes are added until the ratio reaches a target drawn uniformly in the
  bucket. A stroke that would overshoot the bucket is redrawn smaller (up to
  three times); if it still overshoots, only the part of it nearest its start
  that reaches the target is kept. So the result always lies in (low, high],
  and a draw never fails for a bucket that the image can hold.
  """
  low, high = bucket
  total = height * width
  target = rng.uniform(low, high)
  # Pixel counts: the result must have low_n < count <= high_n.
  low_n, high_n = math.floor(low * total), math.floor(high * total)
  if high_n <= low_n:
    raise ValueError(f"hole-ratio bucket ({low}, {high}] holds no pixel count "
                     f"at {height}x{width}")
  goal = min(high_n, max(low_n + 1, math.ceil(target * total)))
  hole = np.zeros((height, width), bool)
  covered = 0
  for _ in range(10_000):
    for attempt in range(4):
      canvas = Image.new("L", (width, height), 0)
      start = _draw_stroke(ImageDraw.Draw(canvas), rng, height, width,
                           0.7 ** attempt)
      new = (np.asarray(canvas) > 0) & ~hole
      n_new = int(np.count_nonzero(new))
      if covered + n_new <= high_n:
        break
    if covered + n_new > high_n:  # keep the stroke's part nearest its start
      need = goal - covered
      yy, xx = np.ogrid[:height, :width]
      dist = np.where(new, (yy - start[1]) ** 2 + (xx - start[0]) ** 2, np.inf)
      keep = np.argsort(dist, axis=None)[:need]
      new = np.zeros(total, bool)
      new[keep] = True
      new = new.reshape(height, width)
      n_new = need
    hole |= new
    covered += n_new
    if covered >= goal:
      return _known(hole)
  raise RuntimeError(  # not reached for buckets below 1
      f"could not draw a free-form mask with hole ratio in ({low}, {high}] at "
      f"{height}x{width}")


def mask_from_image(image: Image.Image, threshold: int = 127) -> np.ndarray:
  """Hole pixels (bool, H x W) of a mask image: white / non-zero = hole.

  With an alpha channel that is not fully opaque, the painted (opaque, alpha >
  threshold) pixels are the hole. Otherwise a pixel is hole where its
  brightest channel is above ``threshold`` (0-255), so a pure red or green
  stroke counts as much as a white one; soft edges are thereby binarised. A
  mask whose values are only 0 and 1 (as NumPy and OpenCV code often write
  them) marks every non-zero pixel.
  """
  if image.mode in ("RGBA", "LA", "PA") or (
      image.mode == "P" and "transparency" in image.info):
    alpha = np.asarray(image.convert("RGBA"))[..., 3]
    if alpha.min() < 255:
      return alpha > threshold
  if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
    grey = np.asarray(image, np.float64)
    if grey.max() > 255:
      grey = grey / 257.0
  elif image.mode in ("L", "1"):
    grey = np.asarray(image.convert("L"), np.float64)
  else:
    grey = np.asarray(image.convert("RGB"), np.float64).max(-1)
  if grey.max() <= 1:
    return grey > 0
  return grey > threshold


def looks_like_a_photograph(image: Image.Image) -> bool:
  """Whether a mask image has the many grey levels of a photograph rather
  than the black and white (and soft edges) of a drawn mask: over a quarter
  of its pixels are mid-tones."""
  if image.mode in ("RGBA", "LA", "PA") and np.asarray(
      image.convert("RGBA"))[..., 3].min() < 255:
    return False  # painted strokes on a transparent layer
  grey = np.asarray(image.convert("L"))
  return float(np.mean((grey > 24) & (grey < 231))) > 0.25


def load_mask_file(path: str, threshold: int = 127, *,
                   warnings: list | None = None) -> np.ndarray:
  """Hole pixels (bool, H x W) of the mask file at ``path``; errors name it.
  ``warnings``: a list that gets a line if the file looks like a photograph
  rather than a mask."""
  try:
    with Image.open(path) as image:
      image.load()
      upright = ImageOps.exif_transpose(image)
      if warnings is not None and looks_like_a_photograph(upright):
        warnings.append(f"mask {path} has the many grey levels of a "
                        "photograph, not the black and white of a mask: is "
                        "it the photograph itself?")
      return mask_from_image(upright, threshold)
  except FileNotFoundError:
    raise FileNotFoundError(f"mask file not found: {path}") from None
  except (OSError, ValueError, SyntaxError) as e:
    raise files.UnreadableFileError(f"cannot read mask file {path}: {e}"
                                    ) from None


def valid_threshold(value) -> bool:
  """Whether ``value`` can binarise mask files: an integer in 0..254 (pixels
  above it are hole; at 255 nothing would be)."""
  return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 254


RULE = ("mask files: white / non-zero = hole (the brightest channel above "
        "the threshold; a 0/1 mask: every 1; with transparency: the opaque "
        "pixels)")


def hole_problem(hole: np.ndarray) -> str | None:
  """What is odd about a mask file's hole pixels: none, or all of them."""
  if not hole.any():
    return "marks no hole"
  if hole.all():
    return "marks every pixel as hole (nothing known to fill from)"
  return None


def dilate(hole: np.ndarray, pixels: int) -> np.ndarray:
  """``hole`` grown by ``pixels`` in every direction (a disc): covers the
  edges and shadows of what a mask marks."""
  if pixels <= 0 or not hole.any():
    return hole
  from scipy import ndimage  # pylint: disable=import-outside-toplevel
  return ndimage.distance_transform_edt(~hole) <= pixels


_CHECKED: set[str] = set()


def warn_odd_mask_files(paths: list[str], threshold: int, folder: str,
                        sample: int = 20) -> None:
  """One warning line if some of the first ``sample`` mask files of a folder
  mark no hole or only hole (e.g. masks drawn with another convention), and
  one if most of them cover most of their image (inverted masks?)."""
  if folder in _CHECKED:
    return
  _CHECKED.add(folder)
  holes = [(p, load_mask_file(p, threshold)) for p in paths[:sample]]
  odd = [(p, hole_problem(hole)) for p, hole in holes]
  odd = [(p, why) for p, why in odd if why]
  if odd:
    print(f"pconvgan: warning: {len(odd)} of the first {len(holes)} "
          f"masks in {folder} are odd, e.g. {odd[0][0]} {odd[0][1]} at "
          f"threshold {threshold}; {RULE}", file=sys.stderr)
  most = [p for p, hole in holes if hole.mean() > checks.MOST_HOLE]
  if len(most) * 2 > len(holes):
    print(f"pconvgan: warning: {len(most)} of the first {len(holes)} masks in "
          f"{folder} cover most of their image, e.g. {most[0]}: are they "
          f"inverted? {RULE}", file=sys.stderr)


def list_mask_files(folder: str) -> list[str]:
  """Sorted mask image paths under ``folder`` (recursive); errors if none."""
  return files.find_files(folder, MASK_EXTENSIONS, "mask", "mask images")


def _resize_nearest(hole: np.ndarray, height: int, width: int) -> np.ndarray:
  if hole.shape == (height, width):
    return hole
  image = Image.fromarray(hole.astype(np.uint8) * 255)
  return np.asarray(image.resize((width, height), Image.NEAREST)) > 0


def folder_mask(path: str, rng: np.random.Generator | None, height: int,
                width: int, threshold: int = 127) -> np.ndarray:
  """A mask from a file, nearest-resized; with ``rng``, randomly flipped,
  rotated by a multiple of 90 degrees and cropped (training augmentation)."""
  hole = load_mask_file(path, threshold)
  if rng is None:
    return _known(_resize_nearest(hole, height, width))
  if rng.random() < 0.5:  # mirrored or not, then turned: the 8 orientations
    hole = hole[:, ::-1]  # alike (a second, vertical flip would add none)
  hole = np.rot90(hole, int(rng.integers(4)))
  # Cover the target at a random scale in [1, 1.25], then crop it.
  cover = max(height / hole.shape[0], width / hole.shape[1]) * rng.uniform(1, 1.25)
  h = max(height, round(hole.shape[0] * cover))
  w = max(width, round(hole.shape[1] * cover))
  hole = _resize_nearest(np.ascontiguousarray(hole), h, w)
  top = rng.integers(0, h - height + 1)
  left = rng.integers(0, w - width + 1)
  return _known(hole[top:top + height, left:left + width])


def mask_sampler(config, height: int, width: int, *, train: bool
                 ) -> Callable[[np.random.Generator, int], np.ndarray]:
  """``fn(rng, index) -> (H, W, 1)`` mask for the ``config``'s kind.

  Evaluation masks depend on ``index`` only through ``rng`` and, for buckets and
  folders, on ``index`` in turn, so the same index always gives the same mask.
  Errors in the config (unknown kind, missing folder) are raised here, before
  any data is read.
  """
  cfg = checks.as_config(MaskConfig, config)
  if cfg.kind == "paper":
    fixed = paper_mask(height, width, cfg.paper_holes)
    return lambda rng, index: fixed
  if cfg.kind == "box":
    return lambda rng, index: box_mask(rng, height, width, cfg.box_count,
                                       cfg.box_size)
  if cfg.kind == "freeform":
    def freeform(rng, index):
      pick = rng.integers(len(cfg.buckets)) if train else index % len(cfg.buckets)
      return freeform_mask(rng, height, width, cfg.buckets[pick])
    return freeform
  if cfg.kind == "mix":
    kinds = [k for k, w in zip(MIXED, cfg.mix) if w > 0]
    weights = np.asarray([w for w in cfg.mix if w > 0], np.float64)
    samplers = [mask_sampler(dataclasses.replace(cfg, kind=k), height, width,
                             train=train) for k in kinds]

    def mixed(rng, index):
      if train:
        return samplers[rng.choice(len(kinds), p=weights / weights.sum())](
            rng, index)
      return samplers[index % len(kinds)](rng, index // len(kinds))
    return mixed
  paths = list_mask_files(cfg.folder)
  warn_odd_mask_files(paths, cfg.threshold, cfg.folder)

  def from_folder(rng, index):
    if train:
      return folder_mask(paths[rng.integers(len(paths))], rng, height, width,
                         cfg.threshold)
    return folder_mask(paths[index % len(paths)], None, height, width,
                       cfg.threshold)
  return from_folder


def export_masks(config, out_dir: str, count: int, height: int, width: int,
                 seed: int = 0) -> list[str]:
  """Writes evaluation masks 0..count-1 as PNGs (white = hole); returns paths.

  They are the masks that evaluation with the same config and seed uses.
  """
  sample = mask_sampler(config, height, width, train=False)
  os.makedirs(out_dir, exist_ok=True)
  paths = []
  for i in range(count):
    hole = hole_pixels(sample(index_rng(seed, i), i))
    path = os.path.join(out_dir, f"mask_{i:05d}.png")
    Image.fromarray(hole.astype(np.uint8) * 255).save(path)
    paths.append(path)
  return paths


# Largest side of a mask file that main writes: larger ones exhaust memory.
MAX_SIDE = 16384


def main(argv: Sequence[str] | None = None) -> None:
  parser = argparse.ArgumentParser(
      description="Write a mask set to PNG files (white = hole).")
  parser.add_argument("--kind", choices=KINDS[:-1], default="freeform")
  parser.add_argument("--count", type=int, default=100)
  parser.add_argument("--size", type=int, nargs=2, default=(128, 128),
                      metavar=("W", "H"), help="width and height in pixels")
  parser.add_argument("--seed", type=int, default=0)
  parser.add_argument("--bucket", type=float, nargs=2, action="append",
                      metavar=("LOW", "HIGH"),
                      help="free-form hole-ratio bucket (repeatable); default "
                      "Liu et al.'s six, taken in turn")
  parser.add_argument("--out", required=True, help="output directory")
  args = parser.parse_args(argv)
  if min(args.size) < 1:
    parser.error(f"--size must be two positive sides W H, got "
                 f"{args.size[0]} {args.size[1]}")
  if max(args.size) > MAX_SIDE:
    parser.error(f"--size sides must be at most {MAX_SIDE} pixels, got "
                 f"{args.size[0]} {args.size[1]}")
  if args.count < 1:
    parser.error(f"--count must be >= 1, got {args.count}")
  if args.seed < 0:
    parser.error(f"--seed must be >= 0, got {args.seed}")
  if os.path.exists(args.out) and not os.path.isdir(args.out):
    parser.error(f"--out {args.out} is a file, not a directory")
  config = {"kind": args.kind}
  if args.bucket:
    config["buckets"] = tuple(tuple(b) for b in args.bucket)
  try:
    checks.as_config(MaskConfig, config)
  except ValueError as e:
    parser.error(str(e))
  width, height = args.size
  try:
    paths = export_masks(config, args.out, args.count, height, width,
                         seed=args.seed)
  except OSError as e:
    parser.error(f"--out {args.out}: cannot write there ({e.strerror or e})")
  print(f"wrote {len(paths)} {args.kind} masks of {width}x{height} (WxH) "
        f"to {args.out}")


if __name__ == "__main__":
  main()
