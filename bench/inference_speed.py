"""Inference with the shipped model, after compilation: one model call at
fixed sizes, and whole 12-megapixel photographs as pconvgan.inpaint_image
fills them (crops around each hole, coarse to fine, bucketed shapes).

    python bench/inference_speed.py [--sizes 128 512] [--photo 4000 3000]
        [--holes 300x300 1500x1000] [--repeats 5]

Each photograph case runs in its own process, so that its peak memory
(resident set) is its own. It reports the first call (compilation
included), a second call on another photograph of the same size, and then
photographs of other sizes (other phones' 12 MP formats) with the same hole:
how many new compilations each needs. Bucketed crop shapes mean a new image
size compiles nothing new unless its crops fall in a new bucket.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

import common
import numpy as np

# Other 12-megapixel formats (W, H), for the recompilation count.
OTHER_SIZES = ((4032, 3024), (3968, 2976), (3000, 4000), (4080, 3060))


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


def _compiled() -> int:
  from pconvgan import generator  # pylint: disable=import-outside-toplevel
  return generator._apply_generator._cache_size()  # pylint: disable=protected-access


def photo_case(width: int, height: int, hole_w: int, hole_h: int) -> dict:
  """Times and compilations of one hole size (run in its own process)."""
  import pconvgan  # pylint: disable=import-outside-toplevel
  variables, config = pconvgan.pretrained()

  def fill(w, h, seed):
    hole = np.zeros((h, w), bool)
    top, left = (h - hole_h) // 2, (w - hole_w) // 3
    hole[top:top + hole_h, left:left + hole_w] = True
    photo = synthetic_photo(w, h, seed)
    before = _compiled()
    start = time.perf_counter()
    pconvgan.inpaint_image(variables, photo, hole, config=config)
    return time.perf_counter() - start, _compiled() - before

  first, first_compiled = fill(width, height, 0)
  second, second_compiled = fill(width, height, 1)
  peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
  others = [fill(w, h, 2)[1] for w, h in OTHER_SIZES]
  return {"first_s": first, "first_compiled": first_compiled,
          "second_s": second, "second_compiled": second_compiled,
          "peak_mb": peak_mb, "other_sizes_compiled": others}


def model_calls(sizes, repeats: int) -> None:
  import jax  # pylint: disable=import-outside-toplevel
  import jax.numpy as jnp  # pylint: disable=import-outside-toplevel
  import pconvgan  # pylint: disable=import-outside-toplevel
  variables, config = pconvgan.pretrained()
  fill = jax.jit(lambda v, x, m: pconvgan.inpaint(v, x, m, config=config))
  print(f"jax {jax.__version__} on {jax.devices()[0].platform}; the shipped "
        f"model, one image per call, median of {repeats}")
  print("| size | compile + first call (s) | latency (ms) |")
  print("|---|---|---|")
  for s in sizes:
    image = jax.random.uniform(jax.random.key(1), (1, s, s, 3))
    mask = jnp.asarray(common.paper_masks(1, s))
    start = time.perf_counter()
    jax.block_until_ready(fill(variables, image, mask))
    first = time.perf_counter() - start
    runs = []
    for _ in range(repeats):
      start = time.perf_counter()
      jax.block_until_ready(fill(variables, image, mask))
      runs.append(time.perf_counter() - start)
    print(f"| {s}x{s} | {first:.2f} | {statistics.median(runs) * 1e3:.0f} |")


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--sizes", type=int, nargs="*", default=(128, 512),
                      help="square sizes of the single model call")
  parser.add_argument("--repeats", type=int, default=5)
  parser.add_argument("--photo", type=int, nargs=2, default=(4000, 3000),
                      metavar=("W", "H"))
  parser.add_argument("--holes", nargs="*", default=("300x300", "1500x1000"))
  parser.add_argument("--case", nargs=4, type=int, help=argparse.SUPPRESS)
  args = parser.parse_args()
  if args.case:
    print(json.dumps(photo_case(*args.case)))
    return
  if args.sizes:
    model_calls(args.sizes, args.repeats)
  width, height = args.photo
  print(f"\n{width}x{height} photograph ({width * height / 1e6:.0f} MP), "
        "pconvgan.inpaint_image, the shipped model; compilations in brackets; "
        f"then {len(OTHER_SIZES)} other sizes: "
        + ", ".join(f"{w}x{h}" for w, h in OTHER_SIZES))
  print("| hole | first call (s) | second call (s) | peak memory (MB) | "
        "new compilations at other sizes |")
  print("|---|---|---|---|---|")
  for spec in args.holes:
    hw, hh = (int(v) for v in spec.split("x"))
    out = subprocess.run(
        [sys.executable, __file__, "--case", str(width), str(height), str(hw),
         str(hh)], capture_output=True, text=True, check=True)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"| {spec} | {r['first_s']:.1f} ({r['first_compiled']}) | "
          f"{r['second_s']:.1f} ({r['second_compiled']}) | {r['peak_mb']:.0f} | "
          f"{', '.join(map(str, r['other_sizes_compiled']))} |")


if __name__ == "__main__":
  main()
