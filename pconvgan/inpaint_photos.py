"""Inpaint your own photos with the shipped model or a trained checkpoint.

    python -m pconvgan.inpaint_photos --image in.jpg --mask mask.png --out out.png
    python -m pconvgan.inpaint_photos --ckpt runs/demo --image photos/ --mask masks/ --out filled/

Without --ckpt the model that ships with pconvgan is used; --ckpt takes a
train.py workdir, checkpoints folder or step folder, or a .msgpack weights
file.

Masks: white / non-zero = hole (soft edges and alpha-channel masks are
binarised at --threshold), the same size as the image. Any image size and
any hole size work: each hole region is filled from a crop around it, at full
resolution where the model reaches across the hole and coarse to fine where
it does not (pconvgan.regions); with --max-side, larger images are run
downscaled and the fill upscaled. Known
pixels are returned unchanged (write PNG to keep them exact); an empty mask
returns the input. In folder mode each image is paired with the mask of the
same file stem.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

import numpy as np
from PIL import Image

from pconvgan import data
from pconvgan import masks
from pconvgan import regions
from pconvgan import weights


def fill(variables: dict, image: np.ndarray, hole: np.ndarray, *,
         config=None, max_side: int = 0) -> np.ndarray:
  """Inpaints one image of any size with holes of any size
  (``regions.inpaint_image``); with ``max_side``, a larger image is filled
  downscaled and the fill upscaled.

  image: float (H, W, 3) in [0, 1]; hole: bool (H, W), True = hole. Returns
  float32 (H, W, 3) whose known pixels are ``image``'s, exactly.
  """
  image = np.asarray(image, np.float32)
  if hole.shape != image.shape[:2]:
    raise ValueError(f"mask size {hole.shape[1]}x{hole.shape[0]} differs from "
                     f"image size {image.shape[1]}x{image.shape[0]} (WxH)")
  if not hole.any():
    return image
  h, w = hole.shape
  scale = max_side / max(h, w) if max_side and max(h, w) > max_side else 1.0
  if scale == 1.0:
    return regions.inpaint_image(variables, image, hole, config=config)
  size = (max(1, round(w * scale)), max(1, round(h * scale)))
  work = np.asarray(Image.fromarray(np.uint8(np.round(image * 255))).resize(
      size, Image.BICUBIC), np.float32) / 255.0
  # Every original hole pixel stays a hole after the round trip.
  work_hole = np.asarray(Image.fromarray(hole.astype(np.uint8) * 255).resize(
      size, Image.BOX)) > 0
  out = regions.inpaint_image(variables, work, work_hole, config=config)
  out = np.asarray(Image.fromarray(np.uint8(np.round(out * 255))).resize(
      (w, h), Image.BICUBIC), np.float32) / 255.0
  return np.where(hole[..., None], out, image)


def check_pair(image_path: str, mask_path: str) -> None:
  """Errors, naming the file, unless both files open and their sizes match
  (reads headers only)."""
  sizes = []
  for what, path in (("image", image_path), ("mask", mask_path)):
    try:
      with Image.open(path) as im:
        sizes.append(im.size)
    except FileNotFoundError:
      raise FileNotFoundError(f"{what} not found: {path}") from None
    except (OSError, ValueError, SyntaxError) as e:
      raise ValueError(f"cannot read {what} {path}: {e}") from None
  if sizes[0] != sizes[1]:
    raise ValueError(
        f"mask {mask_path} is {sizes[1][0]}x{sizes[1][1]} but image "
        f"{image_path} is {sizes[0][0]}x{sizes[0][1]} (WxH); they must match")


def read_pair(image_path: str, mask_path: str, threshold: int
              ) -> tuple[np.ndarray, np.ndarray]:
  """(image float (H, W, 3), hole bool (H, W)); errors name the file."""
  try:
    image = data.load_image(image_path)
  except FileNotFoundError:
    raise FileNotFoundError(f"image not found: {image_path}") from None
  except (OSError, ValueError, SyntaxError) as e:
    raise ValueError(f"cannot read image {image_path}: {e}") from None
  hole = masks.load_mask_file(mask_path, threshold)
  return np.asarray(image, np.float32) / 255.0, hole


def pairs(image: str, mask: str, out: str) -> list[tuple[str, str, str]]:
  """(image, mask, output) paths: one file, or folders matched by file stem."""
  if not os.path.isdir(image):
    return [(image, mask, out)]
  if not os.path.isdir(mask):
    raise ValueError(f"--image {image} is a folder, so --mask must be one too, "
                     f"got {mask}")
  by_stem = {os.path.splitext(os.path.basename(p))[0]: p
             for p in masks.list_mask_files(mask)}
  result, missing = [], []
  for path in data.list_images(image):
    stem = os.path.splitext(os.path.basename(path))[0]
    if stem in by_stem:
      result.append((path, by_stem[stem], os.path.join(out, stem + ".png")))
    else:
      missing.append(os.path.basename(path))
  if missing:
    raise ValueError(f"no mask in {mask} for {len(missing)} images: "
                     f"{', '.join(missing[:5])}" + (" ..." if len(missing) > 5 else ""))
  return result


def main(argv: Sequence[str] | None = None) -> int:
  parser = argparse.ArgumentParser(
      description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--ckpt", default=None,
                      help="a train.py workdir, its checkpoints/, a step folder "
                      "or a .msgpack weights file (default: the shipped model)")
  parser.add_argument("--image", required=True, help="an image or a folder")
  parser.add_argument("--mask", required=True,
                      help="a mask (white = hole) or a folder of masks")
  parser.add_argument("--out", required=True, help="output file or folder")
  parser.add_argument("--threshold", type=int, default=127,
                      help="mask pixels above this (0-255) are hole")
  parser.add_argument("--max-side", type=int, default=0,
                      help="run images larger than this downscaled (0 = never)")
  args = parser.parse_args(argv)
  try:
    jobs = pairs(args.image, args.mask, args.out)
    for image_path, mask_path, _ in jobs:
      check_pair(image_path, mask_path)
    variables, g_config, _, name, _, _ = weights.load_any(args.ckpt)
    for image_path, mask_path, out_path in jobs:
      image, hole = read_pair(image_path, mask_path, args.threshold)
      result = fill(variables, image, hole, config=g_config,
                    max_side=args.max_side)
      save_image(out_path, result)
      print(f"{out_path}: {image.shape[1]}x{image.shape[0]}, "
            f"{hole.mean() * 100:.1f}% hole (model {name})")
  except (ValueError, FileNotFoundError) as e:
    print(f"inpaint: error: {e}", file=sys.stderr)
    return 1
  return 0


def save_image(path: str, image: np.ndarray) -> None:
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  Image.fromarray(np.uint8(np.round(np.clip(image, 0, 1) * 255))).save(path)


if __name__ == "__main__":
  sys.exit(main())
