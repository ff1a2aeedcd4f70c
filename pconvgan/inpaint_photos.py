"""Inpaint your own photos with the shipped model or a trained checkpoint.

    python -m pconvgan.inpaint_photos --image in.jpg --mask mask.png --out out.png
    python -m pconvgan.inpaint_photos --ckpt runs/demo --image photos/ --mask masks/ --out filled/

Without --ckpt the model that ships with pconvgan is used; --ckpt takes a
train.py workdir, checkpoints folder or step folder, or a .msgpack weights
file.

Masks: white / non-zero = hole (the brightest channel above --threshold; a
0/1 mask: every 1; with transparency: the opaque pixels), the same size as
the photograph as displayed (its EXIF orientation applied). Any image size and
any hole size work: each hole region is filled from a crop around it, at full
resolution where the model reaches across the hole and coarse to fine where
it does not (pconvgan.regions); with --max-side, larger images are run
downscaled and the fill upscaled. Known
pixels are returned unchanged (write PNG to keep them exact); an empty mask
returns the input, with a warning. The alpha channel, colour profile, EXIF
data, 16-bit greyscale and a JPEG's quality are kept (pconvgan.photo).

In folder mode each image is paired with the mask of the same relative path
(or, failing that, the same file name) without extension, or with the one
mask file given as --mask (a watermark in the same place on every image),
and written to --out under its relative path in its own format (--format
png: as PNG). Outputs never overwrite an input or each other, and a mask
whose size differs from its image's is refused, before any work; an
unreadable image or mask is skipped and reported at the end (exit status 1).
--dilate N grows every hole by N pixels, to take the edge and shadow of a
removed object along. A mask that covers most of the image (inverted?) or
looks like a photograph is warned of.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

import numpy as np
from PIL import Image

from pconvgan import checks
from pconvgan import data
from pconvgan import dihedral
from pconvgan import files
from pconvgan import masks
from pconvgan import photo
from pconvgan import regions
from pconvgan import weights


# Smallest --max-side: below it a photograph keeps too few pixels to fill
# from.
MIN_MAX_SIDE = 64


def fill(variables: dict, image: np.ndarray, hole: np.ndarray, *,
         config=None, max_side: int = 0, ensemble: int = 1,
         progress=None) -> np.ndarray:
  """Inpaints one image of any size with holes of any size
  (``regions.fill_holes``); with ``max_side``, a larger image is filled
  downscaled and the fill upscaled (only hole pixels change, and memory
  stays a few times the 8-bit image's).

  image: float (H, W, 3) in [0, 1]; hole: bool (H, W), True = hole. Returns
  float32 (H, W, 3) whose known pixels are ``image``'s, exactly.
  ``ensemble`` and ``progress(done, total)``: as for ``regions.inpaint_image``.
  """
  image, hole = regions.checked_photo(image, hole)
  if not hole.any():
    return image
  h, w = hole.shape
  scale = max_side / max(h, w) if max_side and max(h, w) > max_side else 1.0
  if scale == 1.0:
    return regions.fill_holes(variables, image, hole, config=config,
                              ensemble=ensemble, progress=progress)
  size = (max(1, round(w * scale)), max(1, round(h * scale)))
  work = np.asarray(Image.fromarray(photo.to_uint8(image)).resize(
      size, Image.BICUBIC), np.float32) / 255.0
  # Every original hole pixel stays a hole after the round trip.
  work_hole = np.asarray(Image.fromarray(hole.astype(np.uint8) * 255).resize(
      size, Image.BOX)) > 0
  out = regions.fill_holes(variables, work, work_hole, config=config,
                           ensemble=ensemble, progress=progress)
  out = Image.fromarray(photo.to_uint8(out)).resize((w, h), Image.BICUBIC)
  result = image.copy()
  result[hole] = np.asarray(out)[hole].astype(np.float32) / 255.0
  return result


def _open_error(what: str, path: str, error: Exception) -> Exception:
  if isinstance(error, FileNotFoundError):
    return FileNotFoundError(f"{what} not found: {path}")
  return files.UnreadableFileError(f"cannot read {what} {path}: {error}")


def check_pair(image_path: str, mask_path: str) -> None:
  """Errors, naming the file, unless both files open and their sizes as
  displayed match (reads headers only)."""
  sizes = []
  for what, path in (("image", image_path), ("mask", mask_path)):
    try:
      sizes.append(photo.oriented_size(path))
    except (OSError, ValueError, SyntaxError) as e:
      raise _open_error(what, path, e) from None
  if sizes[0] != sizes[1]:
    raise ValueError(
        f"mask {mask_path} is {sizes[1][0]}x{sizes[1][1]} but image "
        f"{image_path} is {sizes[0][0]}x{sizes[0][1]} (WxH, as displayed: "
        "EXIF orientation applied); they must match")


def read_pair(image_path: str, mask_path: str, threshold: int,
              warnings: list | None = None) -> tuple[photo.Photo, np.ndarray]:
  """(photograph, hole bool (H, W)); errors name the file (``warnings``: see
  masks.load_mask_file)."""
  try:
    picture = photo.read(image_path)
  except (OSError, ValueError, SyntaxError) as e:
    raise _open_error("image", image_path, e) from None
  return picture, masks.load_mask_file(mask_path, threshold, warnings=warnings)


def _stem(path: str, root: str) -> str:
  return os.path.splitext(os.path.relpath(path, root))[0]


def pairs(image: str, mask: str, out: str, keep_format: bool = False
          ) -> list[tuple[str, str, str]]:
  """(image, mask, output) paths: one file, or folders matched by relative
  path (or file name) without extension, or a folder of images and one mask
  for all. Folder outputs keep each input's format with ``keep_format``
  (else PNG). Refuses outputs that would overwrite an input or each other."""
  if not os.path.isdir(image):
    if os.path.isdir(mask):
      raise ValueError(f"--image {image} is a file, so --mask must be one "
                       f"too, got the folder {mask}")
    if os.path.isdir(out):
      out = os.path.join(out, os.path.splitext(os.path.basename(image))[0]
                         + ".png")
    jobs = [(image, mask, out)]
  else:
    problem = files.output_problem(out, folder=True)
    if problem:
      raise ValueError(f"--out {out}: {problem}")
    jobs = _folder_pairs(image, mask, out, keep_format)
  _check_outputs(jobs, image, mask, out)
  return jobs


def _output_name(rel: str, path: str, keep_format: bool) -> str:
  """``rel`` with the input's extension if photo.write can write it (and
  ``keep_format``), else .png."""
  suffix = os.path.splitext(path)[1]  # its case kept: UP.JPG -> UP.JPG
  return rel + (suffix if keep_format and suffix.lower() in photo.WRITABLE
                else ".png")


def _folder_pairs(image: str, mask: str, out: str, keep_format: bool = False
                  ) -> list[tuple[str, str, str]]:
  if not os.path.isdir(mask):  # one mask for every image (a watermark)
    if not os.path.exists(mask):
      raise FileNotFoundError(f"--mask {mask}: no such file or folder")
    real = os.path.realpath(mask)  # a mask kept among the images is no image
    jobs = [(path, mask, os.path.join(out, _output_name(
        _stem(path, image), path, keep_format)))
            for path in data.list_images(image, data.PHOTO_EXTENSIONS)
            if os.path.realpath(path) != real]
    if not jobs:
      raise ValueError(f"--image {image} holds no image besides the mask "
                       f"{mask}")
    return jobs
  mask_files = masks.list_mask_files(mask)
  by_rel: dict[str, str] = {}
  for p in mask_files:
    if _stem(p, mask) in by_rel:
      raise ValueError(f"two masks for the same images: {by_rel[_stem(p, mask)]} "
                       f"and {p}; keep one")
    by_rel[_stem(p, mask)] = p
  by_name: dict[str, list[str]] = {}
  for p in mask_files:
    by_name.setdefault(os.path.basename(_stem(p, mask)), []).append(p)
  result, missing = [], []
  for path in data.list_images(image, data.PHOTO_EXTENSIONS):
    rel = _stem(path, image)
    found = by_rel.get(rel)
    if found is None:  # the same file name elsewhere, if only one has it
      named = by_name.get(os.path.basename(rel), [])
      found = named[0] if len(named) == 1 else None
    if found:
      result.append((path, found, os.path.join(
          out, _output_name(rel, path, keep_format))))
    else:
      missing.append(os.path.relpath(path, image))
  if missing:
    raise ValueError(f"no mask in {mask} for {len(missing)} images: "
                     f"{', '.join(missing[:5])}" + (" ..." if len(missing) > 5 else ""))
  return result


def _check_outputs(jobs, image: str, mask: str, out: str) -> None:
  real = os.path.realpath
  inputs = {real(p) for job in jobs for p in job[:2]}
  for folder, flag in ((image, "--image"), (mask, "--mask")):
    if os.path.isdir(folder):
      inside = os.path.commonpath([real(out), real(folder)]) == real(folder)
      if inside:
        raise ValueError(f"--out {out} is inside the {flag} folder {folder}: "
                         "outputs would mix with the inputs; choose another "
                         "folder")
  seen: dict[str, str] = {}
  for image_path, _, out_path in jobs:
    problem = files.output_problem(out_path, folder=False)
    if problem:
      raise ValueError(f"cannot write {out_path}: {problem}")
    target = real(out_path)
    if target in inputs:
      raise ValueError(f"output {out_path} would overwrite an input; choose "
                       "another --out")
    if target in seen:
      raise ValueError(f"{seen[target]} and {image_path} would both be "
                       f"written to {out_path}; rename one of them")
    seen[target] = image_path


def _threshold(text: str) -> int:
  try:
    value = int(text)
  except ValueError:
    raise argparse.ArgumentTypeError(
        f"must be an integer in 0..254 (mask pixels above it are hole), got "
        f"{text}") from None
  if not masks.valid_threshold(value):
    raise argparse.ArgumentTypeError(
        f"must be in 0..254 (mask pixels above it are hole), got {value}")
  return value


def main(argv: Sequence[str] | None = None) -> int:
  parser = argparse.ArgumentParser(
      description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  weights.add_ckpt_argument(parser)
  parser.add_argument("--image", required=True, type=os.path.expanduser,
                      help="an image or a folder")
  parser.add_argument("--mask", required=True, type=os.path.expanduser,
                      help="a mask (white = hole), a folder of masks, or one "
                      "mask for every image of an --image folder")
  parser.add_argument("--out", required=True, type=os.path.expanduser,
                      help="output file or folder")
  parser.add_argument("--threshold", type=_threshold, default=127,
                      help="mask pixels above this (0-254) are hole")
  parser.add_argument("--dilate", type=int, default=0,
                      help="grow each hole by this many pixels, to cover the "
                      "edges and shadows of what the mask marks")
  parser.add_argument("--format", choices=("same", "png"), default="same",
                      help="folder mode: write each output in its input's "
                      "format (same) or as PNG")
  parser.add_argument("--max-side", type=int, default=0,
                      help="run images larger than this downscaled (0 = never)")
  parser.add_argument("--ensemble", type=int, default=1,
                      choices=dihedral.COUNTS,
                      help="average each model pass over this many flips and "
                      "transpositions (slower, smaller errors, smoother fills)")
  args, extra = parser.parse_known_args(argv)
  if extra:
    hint = ("; --image takes one file or a folder: for several photographs "
            "(a shell pattern such as *.jpg) pass their folder"
            if all(os.path.isfile(e) for e in extra) else "")
    parser.error(f"unrecognized arguments: {' '.join(extra)}{hint}")
  if args.max_side != 0 and not MIN_MAX_SIDE <= args.max_side:
    parser.error(f"--max-side must be 0 (full size) or at least "
                 f"{MIN_MAX_SIDE} pixels, got {args.max_side}")
  if args.dilate < 0:
    parser.error(f"--dilate must be >= 0 pixels, got {args.dilate}")
  folder = os.path.isdir(args.image)
  if (folder and not os.path.isdir(args.out)
      and os.path.splitext(args.out)[1].lower() in photo.WRITABLE):
    parser.error(f"--out {args.out} looks like a file name, but --image is a "
                 "folder: --out is the folder the outputs go to")
  if not folder and not os.path.isdir(args.out) and (
      os.path.splitext(args.out)[1].lower() not in photo.WRITABLE):
    parser.error(f"--out: {photo.writable_error(args.out)} (or name an "
                 "existing folder)")
  skipped = []  # (path, why): unreadable files, reported at the end
  try:
    jobs = pairs(args.image, args.mask, args.out, args.format == "same")
    # In folder mode an unreadable file is skipped, and listed at the end.
    unreadable = ((files.UnreadableFileError, FileNotFoundError) if folder
                  else ())
    ready = []
    for job in jobs:
      try:
        check_pair(job[0], job[1])
        ready.append(job)
      except unreadable as e:
        skipped.append((job[0], str(e)))
    variables, g_config, _, name, _, _ = weights.load_any(args.ckpt)
    for image_path, mask_path, out_path in ready:
      warnings = []
      try:
        picture, hole = read_pair(image_path, mask_path, args.threshold,
                                  warnings)
      except unreadable as e:
        skipped.append((image_path, str(e)))
        continue
      grown = masks.dilate(hole, args.dilate)
      if grown.all() and not hole.all():
        raise ValueError(f"--dilate {args.dilate} grows the holes of mask "
                         f"{mask_path} over all of {image_path}: nothing "
                         "known is left to fill from; use a smaller --dilate")
      hole = grown
      problem = masks.hole_problem(hole)
      if hole.all():
        raise ValueError(f"mask {mask_path} {problem}; {masks.RULE}")
      if problem:
        warnings.append(f"mask {mask_path} {problem} at threshold "
                        f"{args.threshold}; {masks.RULE}")
      coverage = checks.coverage_warning(hole)
      if coverage:
        warnings.append(f"mask {mask_path} {coverage}")
      if (picture.alpha is not None and not photo.keeps_alpha(out_path)
          and picture.alpha.min() < np.iinfo(picture.alpha.dtype).max):
        fmt = os.path.splitext(out_path)[1].lower()
        warnings.append(f"{image_path} has an alpha channel, which {fmt} "
                        f"files cannot hold: {out_path} is written without "
                        "it (write .png, .webp or .tif to keep it)")
      for line in warnings:
        print(f"inpaint: warning: {line}", file=sys.stderr)
      result = fill(variables, picture.pixels, hole, config=g_config,
                    max_side=args.max_side, ensemble=args.ensemble)
      photo.write(out_path, result, picture)
      h, w = hole.shape
      print(f"{out_path}: {w}x{h}, {hole.mean() * 100:.1f}% hole "
            f"(model {name})")
  except (ValueError, OSError) as e:  # OSError: e.g. an output not writable
    print(f"inpaint: error: {e}", file=sys.stderr)
    return 1
  if skipped:
    print(f"inpaint: error: {len(skipped)} of {len(jobs)} images skipped, "
          f"unreadable: " + "; ".join(why for _, why in skipped),
          file=sys.stderr)
    return 1
  return 0


if __name__ == "__main__":
  sys.exit(main())
