"""Input pipeline throughput against the training step's consumption, side by side.

    python bench/loader_speed.py [--batch 16] [--size 128] [--masks freeform]

Prints images/s of the grain loader (decode, resize, random crop and flip,
mask) on the built-in demo photographs (256 px JPEGs, as Places365's
val_256) with 0 and 2 worker processes, the images/s consumed by one
generator gradient step measured in the same run, and their ratio. The loader
should sustain at least 5x the step's rate.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))

from pconvgan import data  # pylint: disable=wrong-import-position
import common  # pylint: disable=wrong-import-position
import model_speed  # pylint: disable=wrong-import-position


def loader_rate(paths, batch: int, size: int, masks: str, workers: int,
                batches: int) -> float:
  loader = data.make_loader(paths, batch_size=batch, image_size=size,
                            train=True, workers=workers, seed=0,
                            mask_config={"kind": masks})
  it = iter(loader)
  next(it)  # start-up (worker processes, first decode) is not throughput
  start = time.perf_counter()
  for _ in range(batches):
    next(it)
  return batch * batches / (time.perf_counter() - start)


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__)
  parser.add_argument("--batch", type=int, default=16)
  parser.add_argument("--size", type=int, default=128)
  parser.add_argument("--masks", default="freeform",
                      choices=("paper", "box", "freeform"))
  parser.add_argument("--batches", type=int, default=20)
  args = parser.parse_args()
  paths = data.list_images(data.demo_folder())

  name, step, step_args = model_speed.generator_benchmarks(args.batch, args.size)[1]
  _, runs = common.timed(step, *step_args, repeats=3)
  step_rate = args.batch / statistics.median(runs)

  print(f"batch {args.batch}, {args.size}x{args.size}, {args.masks} masks, "
        f"{os.cpu_count()} CPU cores")
  print(f"{'what':<32}{'images/s':>10}{'x step':>8}")
  print(f"{name:<32}{step_rate:>10.1f}{1.0:>8.1f}")
  for workers in (0, 2):
    rate = loader_rate(paths, args.batch, args.size, args.masks, workers,
                       args.batches)
    print(f"{f'loader, {workers} workers':<32}{rate:>10.1f}"
          f"{rate / step_rate:>8.1f}")


if __name__ == "__main__":
  main()
