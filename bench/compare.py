"""pconvgan against the PyTorch reference of the same networks, in one run.

    pip install torch            # CPU build; for benchmarking only
    python bench/compare.py [--batch 16] [--size 128] [--repeats 6]

On a GPU (JAX's default backend), PyTorch runs on CUDA too and the CPU-only
figures (sgemm peak, GFLOP/s shares) are left out.

Prints, for each phase's training step, images/s of pconvgan (jitted JAX) and
of bench/torch_reference.py (PyTorch, channels_last), their ratio (the two
are timed in alternation, step by step, so that the load of a shared
machine weighs on both alike; medians of --repeats each), the
achieved GFLOP/s of the generator's convolutions in the generator-only step
(their FLOPs, counted from the layer sizes as a 3x3 convolution of each
upsampled decoder input would do them, over the whole step's time: a lower
bound for PyTorch; pconvgan's decoder does fewer, so its figure is an
effective rate, and a third line gives its rate in the arithmetic it does),
and this machine's single-precision GEMM peak measured with
NumPy before and after the steps (the better of the two). Compare ratios,
not absolute figures, on a shared machine.
"""

from __future__ import annotations

import os
import statistics
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))

import common  # pylint: disable=wrong-import-position
import train_speed  # pylint: disable=wrong-import-position

from pconvgan import generator  # pylint: disable=wrong-import-position


def sgemm_peak(n: int = 2048, repeats: int = 5) -> float:
  """Best GFLOP/s of an n x n float32 matrix product with NumPy."""
  a = np.random.default_rng(0).random((n, n), np.float32)
  a @ a
  best = min(common.seconds(lambda: a @ a) for _ in range(repeats))
  return 2 * n ** 3 / best / 1e9


def generator_conv_flops(batch: int, size: int, width: float,
                         as_done: bool = False) -> float:
  """FLOPs of the generator's convolutions in one training step: forward,
  input gradient (not for the first layer) and weight gradient. Counted
  as a 3x3 convolution of each upsampled decoder input does them, or with
  ``as_done`` as pconvgan's decoder does them (4 taps instead of 9 for the
  channels that come upsampled, layers.upsampled_concat_conv)."""
  import jax  # pylint: disable=import-outside-toplevel
  variables = jax.eval_shape(lambda: generator.init_generator(
      jax.random.key(0), {"width": width}))
  total, h, c_prev = 0.0, size, 0
  for name in generator.layer_names():
    k, _, c_in, c_out = variables["params"][name]["conv"]["kernel"].shape
    if name.startswith("enc"):
      h //= 2
    elif name.startswith("dec"):
      h *= 2
    taps = k * k * c_in
    if as_done and name.startswith("dec"):
      taps = 4 * c_prev + k * k * (c_in - c_prev)  # c_prev come upsampled
    forward = 2.0 * batch * h * h * taps * c_out
    total += forward * (2 if name == "enc1" else 3)
    c_prev = c_out
  return total


def main() -> None:
  args = common.parser(__doc__, repeats=6).parse_args()
  try:
    import torch_reference  # pylint: disable=import-outside-toplevel
  except ImportError:
    sys.exit("bench/compare.py needs PyTorch: pip install torch (CPU build)")

  import jax  # pylint: disable=import-outside-toplevel
  on_gpu = jax.default_backend() == "gpu"
  peak = None if on_gpu else sgemm_peak()  # the CPU's; of no use on a GPU
  ours, theirs = {}, {}
  jax_runners = train_speed.phase_runners(args.batch, args.size, args.width)
  torch_runners = torch_reference.phase_runners(
      args.batch, args.size, args.width, device="cuda" if on_gpu else "cpu")
  for phase, (run, *_) in jax_runners.items():
    jax_runs, torch_runs = [], []
    for _ in range(args.repeats):
      jax_runs.append(common.seconds(run))
      torch_runs.append(common.seconds(torch_runners[phase]))
    ours[phase] = args.batch / statistics.median(jax_runs)
    theirs[phase] = args.batch / statistics.median(torch_runs)
  if not on_gpu:
    peak = max(peak, sgemm_peak())  # the best of before and after the steps
  flops = generator_conv_flops(args.batch, args.size, args.width)
  print(f"batch {args.batch}, {args.size}x{args.size}, width {args.width}, "
        + (f"on {jax.devices()[0].device_kind} (both frameworks)" if on_gpu else
           f"{os.cpu_count()} CPU cores; NumPy sgemm peak (better of before "
           f"and after): {peak:.0f} GFLOP/s"))
  print(f"{'phase':<15}{'pconvgan':>10}{'PyTorch':>10}{'ratio':>8}   images/s")
  for phase in ours:
    print(f"{phase:<15}{ours[phase]:>10.2f}{theirs[phase]:>10.2f}"
          f"{ours[phase] / theirs[phase]:>8.2f}")
  if on_gpu:
    return  # no sgemm peak on a GPU, so no GFLOP/s shares
  done = generator_conv_flops(args.batch, args.size, args.width, as_done=True)
  for name, rate, count in (
      ("pconvgan", ours["generator"], flops),
      ("PyTorch", theirs["generator"], flops),
      ("pconvgan, in the arithmetic it does", ours["generator"], done)):
    achieved = count * rate / args.batch / 1e9
    print(f"generator convolutions, {name}: {achieved:.0f} GFLOP/s "
          f"({achieved / peak * 100:.0f}% of sgemm peak)")


if __name__ == "__main__":
  main()
