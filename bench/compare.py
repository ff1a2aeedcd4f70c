"""pconvgan against the PyTorch reference of the same networks, in one run.

    pip install torch            # CPU build; for benchmarking only
    python bench/compare.py [--batch 16] [--size 128] [--rounds 5] [--steps 3]

Each framework runs in a process of its own (so neither's threads, memory
or allocator slow the other), is warmed up, and then waits while the other
works: the two take turns, phase by phase, for --rounds rounds of --steps
timed steps each (the first to go alternates). Prints, for each phase's
training step (and pconvgan's generator gradient step through the public
``pconvgan.apply``, built with jax.jit and with pconvgan.training_jit,
against PyTorch's generator step), the median images/s
of each framework over the rounds with the range of the per-round
medians, and the ratio of the medians with the range of the per-round
ratios: on a shared machine the load weighs on both alike only within a
round. Also printed: the CPU's model and vector features, both
frameworks' versions and thread settings, this machine's single-precision
GEMM peak measured with NumPy before and after the steps (the better of the
two), and the achieved GFLOP/s of the generator's convolutions in the
generator-only step (their FLOPs counted from the layer sizes as a 3x3
convolution of each upsampled decoder input would do them, over the whole
step's time: a lower bound for PyTorch; pconvgan's decoder does fewer, so
its figure is an effective rate, and a third line gives its rate in the
arithmetic it does).

On a GPU (JAX's default backend), PyTorch runs on CUDA too and the CPU-only
figures (sgemm peak, GFLOP/s shares) are left out.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))

import common  # pylint: disable=wrong-import-position

from pconvgan import generator  # pylint: disable=wrong-import-position

# The public-API steps (jax.jit, pconvgan.training_jit) are compared with
# PyTorch's generator step.
API_PHASES = {"generator gradient step": "generator, pconvgan.apply, jax.jit",
              "same, pconvgan.training_jit":
                  "generator, pconvgan.apply, pconvgan.training_jit"}


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


def api_runner(step, step_args):
  """A warmed-up runner of a gradient step of model_speed's form, whose
  outputs are fed back as the next step's inputs."""
  import jax  # pylint: disable=import-outside-toplevel
  state = {"args": step_args}

  def run():
    params, stats, opt, *data = state["args"]
    params, stats, opt, loss = step(params, stats, opt, *data)
    state["args"] = (params, stats, opt, *data)
    jax.block_until_ready(loss)
  run()  # warm-up (compiles)
  return run


def jax_worker(args) -> tuple[dict, dict]:
  """(phase -> run, settings) of pconvgan's steps."""
  import jax  # pylint: disable=import-outside-toplevel
  import model_speed  # pylint: disable=import-outside-toplevel
  import train_speed  # pylint: disable=import-outside-toplevel
  runners = {phase: run for phase, (run, *_) in train_speed.phase_runners(
      args.batch, args.size, args.width).items()}
  for name, step, step_args in model_speed.generator_benchmarks(
      args.batch, args.size, args.width):
    if name in API_PHASES:
      runners[API_PHASES[name]] = api_runner(step, step_args)
  settings = {"framework": f"jax {jax.__version__}",
              "backend": jax.default_backend(),
              "device": jax.devices()[0].device_kind,
              "threads": f"XLA_FLAGS={os.environ.get('XLA_FLAGS', '')!r}, "
                         f"{len(os.sched_getaffinity(0))} usable cores"}
  return runners, settings


def torch_worker(args) -> tuple[dict, dict]:
  """(phase -> run, settings) of bench/torch_reference.py's steps."""
  import torch  # pylint: disable=import-outside-toplevel
  import torch_reference  # pylint: disable=import-outside-toplevel
  runners = torch_reference.phase_runners(
      args.batch, args.size, args.width,
      device="cuda" if args.device == "gpu" else "cpu")
  settings = {"framework": f"torch {torch.__version__}",
              "threads": f"{torch.get_num_threads()} intra-op, "
                         f"{torch.get_num_interop_threads()} inter-op threads, "
                         f"oneDNN {'on' if torch.backends.mkldnn.is_available() else 'off'}"}
  return runners, settings


def serve(args) -> None:
  """A worker process: builds its runners, says so on stdout (one JSON
  line), then times ``STEPS PHASE`` requests read from stdin, one JSON list
  of seconds per request, until stdin closes."""
  build = jax_worker if args.worker == "jax" else torch_worker
  runners, settings = build(args)
  print(json.dumps({"phases": list(runners), **settings}), flush=True)
  for line in sys.stdin:
    count, phase = line.rstrip("\n").split(" ", 1)
    times = [common.seconds(runners[phase]) for _ in range(int(count))]
    print(json.dumps(times), flush=True)


class Worker:
  """A framework's worker process (``serve``), warmed up."""

  def __init__(self, kind: str, args, device: str):
    command = [sys.executable, __file__, "--worker", kind, "--device", device,
               "--batch", str(args.batch), "--size", str(args.size),
               "--width", str(args.width)]
    self.process = subprocess.Popen(command, stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, text=True)
    line = self.process.stdout.readline()
    if not line:
      sys.exit(f"bench/compare.py: the {kind} worker failed (see above)")
    self.info = json.loads(line)

  def time(self, phase: str, steps: int) -> list[float]:
    self.process.stdin.write(f"{steps} {phase}\n")
    self.process.stdin.flush()
    return json.loads(self.process.stdout.readline())

  def close(self) -> None:
    self.process.stdin.close()
    self.process.wait()


def spread(values) -> str:
  return f"{min(values):.2f}-{max(values):.2f}"


def main() -> None:
  p = common.parser(__doc__, repeats=None)
  p.add_argument("--rounds", type=int, default=5,
                 help="turns each framework takes per phase")
  p.add_argument("--steps", type=int, default=3,
                 help="timed steps per turn (their median is the turn's)")
  p.add_argument("--worker", choices=("jax", "torch"), help=argparse.SUPPRESS)
  p.add_argument("--device", default="cpu", help=argparse.SUPPRESS)
  args = p.parse_args()
  if args.rounds < 1 or args.steps < 1:
    p.error("--rounds and --steps must be at least 1")
  if args.worker:
    serve(args)
    return
  try:
    import torch  # pylint: disable=import-outside-toplevel,unused-import
  except ImportError:
    sys.exit("bench/compare.py needs PyTorch: pip install torch (CPU build)")
  import jax  # pylint: disable=import-outside-toplevel
  device = "gpu" if jax.default_backend() == "gpu" else "cpu"
  on_gpu = device == "gpu"
  peak = None if on_gpu else sgemm_peak()  # the CPU's; of no use on a GPU
  ours, theirs = Worker("jax", args, device), Worker("torch", args, device)
  pairs = [(phase, phase) for phase in theirs.info["phases"]]
  pairs += [(phase, "generator") for phase in API_PHASES.values()]
  rates = {phase: ([], []) for phase, _ in pairs}  # per-round images/s
  for round_ in range(args.rounds):
    for phase, torch_phase in pairs:
      turns = [(ours, phase, 0), (theirs, torch_phase, 1)]
      for worker, name, side in (turns if round_ % 2 == 0 else turns[::-1]):
        step = statistics.median(worker.time(name, args.steps))
        rates[phase][side].append(args.batch / step)
  ours.close()
  theirs.close()
  if not on_gpu:
    peak = max(peak, sgemm_peak())  # the best of before and after the steps
  print(f"batch {args.batch}, {args.size}x{args.size}, width {args.width}; "
        f"{args.rounds} rounds of {args.steps} steps, each framework in its "
        "own process, alternating")
  if on_gpu:
    print(f"on {ours.info['device']} (both frameworks)")
  else:
    print(f"CPU: {common.cpu_description()}, {os.cpu_count()} cores; NumPy sgemm "
          f"peak (better of before and after): {peak:.0f} GFLOP/s")
  for worker in (ours, theirs):
    print(f"{worker.info['framework']}: {worker.info['threads']}")
  print("\n| step (images/s: median, range of rounds) | pconvgan | PyTorch "
        "| ratio |\n|---|---|---|---|")
  medians = {}
  for phase, torch_phase in pairs:
    a, b = rates[phase]
    ratios = [x / y for x, y in zip(a, b)]
    medians[phase] = statistics.median(a), statistics.median(b)
    label = phase if phase == torch_phase else f"{phase} vs {torch_phase}"
    cells = [f"{statistics.median(v):.2f} ({spread(v)})" for v in (a, b)]
    ratio = medians[phase][0] / medians[phase][1]
    print(f"| {label} | {cells[0]} | {cells[1]} | {ratio:.2f} "
          f"({spread(ratios)}) |")
  print()
  if on_gpu:
    return  # no sgemm peak on a GPU, so no GFLOP/s shares
  flops = generator_conv_flops(args.batch, args.size, args.width)
  done = generator_conv_flops(args.batch, args.size, args.width, as_done=True)
  ours_rate, theirs_rate = medians["generator"]
  for name, rate, count in (
      ("pconvgan", ours_rate, flops), ("PyTorch", theirs_rate, flops),
      ("pconvgan, in the arithmetic it does", ours_rate, done)):
    achieved = count * rate / args.batch / 1e9
    print(f"generator convolutions, {name}: {achieved:.0f} GFLOP/s "
          f"({achieved / peak * 100:.0f}% of sgemm peak)")


if __name__ == "__main__":
  main()
