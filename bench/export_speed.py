"""The shipped generator three ways on this machine: pconvgan.inpaint, its
jax.export program and its ONNX model in onnxruntime, side by side.

    python bench/export_speed.py [--sizes 256 512] [--batch 1] [--repeats 5]

One run measures all three on the same inputs (the machine may be shared:
compare the ratios), after a warm-up call, and prints the median time per
call and the largest difference from pconvgan.inpaint.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import jax
import numpy as np

import pconvgan
from pconvgan import export


def median_seconds(fn, repeats: int) -> float:
  fn()  # warm-up: compilation, session set-up
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    fn()
    times.append(time.perf_counter() - start)
  return statistics.median(times)


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--sizes", type=int, nargs="+", default=(256, 512))
  parser.add_argument("--batch", type=int, default=1)
  parser.add_argument("--repeats", type=int, default=5)
  args = parser.parse_args()
  variables, config = pconvgan.pretrained()
  folder = tempfile.mkdtemp()
  program = os.path.join(folder, "inpaint.jaxexport")
  export.write(program, variables, config)
  call = export.load_program(program)
  session = None
  try:
    import onnxruntime  # pylint: disable=import-outside-toplevel
    onnx_path = os.path.join(folder, "inpaint.onnx")
    export.write(onnx_path, variables, config)
    session = onnxruntime.InferenceSession(onnx_path,
                                           providers=["CPUExecutionProvider"])
  except (ImportError, RuntimeError) as e:
    print(f"ONNX skipped: {e}")
  fill = jax.jit(lambda v, x, m: pconvgan.inpaint(v, x, m, config=config))
  print(f"jax {jax.__version__} on {jax.devices()[0].platform}, "
        f"{os.cpu_count()} CPUs, batch {args.batch}, median of {args.repeats}")
  print("| size | pconvgan.inpaint (s) | .jaxexport (s) | .onnx (s) | "
        "max diff (jaxexport, onnx) |")
  print("|---|---|---|---|---|")
  rng = np.random.default_rng(0)
  for size in args.sizes:
    image = rng.random((args.batch, size, size, 3), dtype=np.float32)
    mask = np.ones((args.batch, size, size, 1), np.float32)
    for top in range(size // 8, size - 40, size // 4):  # holes one pass fills
      mask[:, top:top + 40, size // 3: size // 3 + 64] = 0
    want = np.asarray(fill(variables, image, mask))
    t_lib = median_seconds(
        lambda: fill(variables, image, mask).block_until_ready(), args.repeats)
    t_exp = median_seconds(
        lambda: call(image, mask)[0].block_until_ready(), args.repeats)
    diff_exp = float(np.abs(np.asarray(call(image, mask)[0]) - want).max())
    t_onnx, diff_onnx = float("nan"), float("nan")
    if session is not None:
      feed = {"image": image, "mask": mask}
      t_onnx = median_seconds(lambda: session.run(None, feed), args.repeats)
      diff_onnx = float(np.abs(session.run(None, feed)[0] - want).max())
    print(f"| {size} | {t_lib:.3f} | {t_exp:.3f} ({t_exp / t_lib:.2f}x) | "
          f"{t_onnx:.3f} ({t_onnx / t_lib:.2f}x) | {diff_exp:.1e}, "
          f"{diff_onnx:.1e} |")


if __name__ == "__main__":
  main()
