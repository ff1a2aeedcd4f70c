"""What the benchmark scripts share: command-line arguments and timing."""

import argparse
import statistics
import time


def parser(description: str, repeats: int | None = 4
           ) -> argparse.ArgumentParser:
  """An argument parser with --batch, --size, --width and (unless
  ``repeats`` is None) --repeats."""
  p = argparse.ArgumentParser(description=description)
  p.add_argument("--batch", type=int, default=16, help="global batch size")
  p.add_argument("--size", type=int, default=128, help="image side in pixels")
  p.add_argument("--width", type=float, default=1.0,
                 help="channel width multiplier of the networks")
  if repeats is not None:
    p.add_argument("--repeats", type=int, default=repeats,
                   help="timed runs after warm-up (the median is printed)")
  return p


def seconds(run) -> float:
  """Wall-clock seconds of one call of ``run()`` (which blocks until done)."""
  start = time.perf_counter()
  run()
  return time.perf_counter() - start


def timed(fn, *args, repeats: int):
  """(compile seconds, list of run seconds) of a jitted ``fn``."""
  import jax  # pylint: disable=import-outside-toplevel
  compile_s = seconds(lambda: jax.block_until_ready(fn(*args)))
  return compile_s, [seconds(lambda: jax.block_until_ready(fn(*args)))
                     for _ in range(repeats)]


def median_rate(batch: int, runs) -> float:
  """Images/s of the median of ``runs`` (seconds per batch)."""
  return batch / statistics.median(runs)


def paper_masks(batch: int, size: int):
  """(batch, size, size, 1) masks with the paper's two holes (1 = known)."""
  import numpy as np  # pylint: disable=import-outside-toplevel
  from pconvgan import masks  # pylint: disable=import-outside-toplevel
  mask = masks.paper_mask(size, size).reshape(1, size, size, 1)
  return np.repeat(mask.astype(np.float32), batch, axis=0)


def cpu_description() -> str:
  """The CPU's model name and the vector features that matter to XLA and
  oneDNN (from /proc/cpuinfo; the platform's name elsewhere)."""
  try:
    with open("/proc/cpuinfo") as f:
      info = f.read()
  except OSError:
    import platform  # pylint: disable=import-outside-toplevel
    return platform.processor() or platform.machine()
  model = next((line.split(":", 1)[1].strip() for line in info.splitlines()
                if line.startswith("model name")), "unknown CPU")
  flags = next((line.split(":", 1)[1].split() for line in info.splitlines()
                if line.startswith("flags")), [])
  wanted = ("avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni",
            "amx_tile", "amx_bf16")
  return f"{model} ({', '.join(f for f in wanted if f in flags) or 'no AVX2'})"
