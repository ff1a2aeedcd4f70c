"""Inpainting a 12-megapixel photograph with the shipped model, as
pconvgan.inpaint_image does it (crops around each hole, coarse to fine).

    python bench/photo_speed.py [--size 4000 3000] [--holes 300x300 1500x1000]

Each hole size runs in its own process, so that its peak memory (resident
set) is its own; each reports the first call (compilation included) and a
second call on another photograph of the same size, side by side.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np


def synthetic_photo(width: int, height: int, seed: int) -> np.ndarray:
  """Smooth colours and fine texture, float32 (H, W, 3)."""
  rng = np.random.default_rng(seed)
  y, x = np.mgrid[0:height, 0:width].astype(np.float32)
  out = np.empty((height, width, 3), np.float32)
  for c in range(3):
    f = rng.uniform(1, 6, 2) / max(width, height) * 2 * np.pi
    out[..., c] = 0.5 + 0.3 * np.sin(f[0] * x + f[1] * y + rng.uniform(0, 6))
  out += rng.normal(0, 0.03, out.shape).astype(np.float32)
  return np.clip(out, 0, 1)


def one_case(width: int, height: int, hole_w: int, hole_h: int) -> dict:
  import pconvgan  # pylint: disable=import-outside-toplevel
  variables, config = pconvgan.pretrained()
  hole = np.zeros((height, width), bool)
  top, left = (height - hole_h) // 2, (width - hole_w) // 3
  hole[top:top + hole_h, left:left + hole_w] = True
  times = []
  for seed in (0, 1):
    photo = synthetic_photo(width, height, seed)
    start = time.perf_counter()
    pconvgan.inpaint_image(variables, photo, hole, config=config)
    times.append(time.perf_counter() - start)
  peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
  return {"first_s": times[0], "second_s": times[1], "peak_mb": peak_mb}


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--size", type=int, nargs=2, default=(4000, 3000),
                      metavar=("W", "H"))
  parser.add_argument("--holes", nargs="+", default=("300x300", "1500x1000"))
  parser.add_argument("--case", nargs=4, type=int, help=argparse.SUPPRESS)
  args = parser.parse_args()
  if args.case:
    print(json.dumps(one_case(*args.case)))
    return
  width, height = args.size
  print(f"{width}x{height} photograph ({width * height / 1e6:.0f} MP), "
        "the shipped model, this machine")
  print("| hole | first call (s) | second call (s) | peak memory (MB) |")
  print("|---|---|---|---|")
  for spec in args.holes:
    hw, hh = (int(v) for v in spec.split("x"))
    out = subprocess.run(
        [sys.executable, __file__, "--case", str(width), str(height), str(hw),
         str(hh)], capture_output=True, text=True, check=True)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"| {spec} | {r['first_s']:.1f} | {r['second_s']:.1f} | "
          f"{r['peak_mb']:.0f} |")


if __name__ == "__main__":
  main()
