"""Inference latency of one image on this machine, after compilation.

    python bench/inference_speed.py [--sizes 128 512] [--repeats 5]

Times pconvgan.inpaint (the paper's full-width generator, jitted) on one
image of each size: the first call (compilation included) and the median of
later calls, as a user inpainting photos would see them.
"""

from __future__ import annotations

import argparse
import statistics
import time

import jax
import jax.numpy as jnp

import pconvgan


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__)
  parser.add_argument("--sizes", type=int, nargs="+", default=(128, 512))
  parser.add_argument("--width", type=float, default=1.0)
  parser.add_argument("--repeats", type=int, default=5)
  args = parser.parse_args()
  variables = pconvgan.init(jax.random.key(0), {"width": args.width})
  fill = jax.jit(pconvgan.inpaint)
  print(f"jax {jax.__version__} on {jax.devices()[0].platform}, generator width "
        f"{args.width}, one image, median of {args.repeats}")
  print(f"{'size':<10}{'compile + first s':>18}{'latency ms':>12}")
  for s in args.sizes:
    image = jax.random.uniform(jax.random.key(1), (1, s, s, 3))
    mask = jnp.ones((1, s, s, 1)).at[:, s // 4:3 * s // 4, s // 16:s // 4].set(0)
    start = time.perf_counter()
    jax.block_until_ready(fill(variables, image, mask))
    first = time.perf_counter() - start
    runs = []
    for _ in range(args.repeats):
      start = time.perf_counter()
      jax.block_until_ready(fill(variables, image, mask))
      runs.append(time.perf_counter() - start)
    print(f"{f'{s}x{s}':<10}{first:>18.2f}{statistics.median(runs) * 1e3:>12.0f}")


if __name__ == "__main__":
  main()
