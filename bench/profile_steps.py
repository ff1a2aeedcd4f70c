"""Where a training step's time goes, pconvgan against PyTorch, by kind of op.

    pip install torch            # CPU build; for benchmarking only
    python bench/profile_steps.py [--batch 16] [--size 128] [--steps 3]
                                  [--phases generator discriminator joint]

Each framework runs in a process of its own, one after the other, with its
steps warmed up (pconvgan's built as train.py builds them: make_steps, the
CPU forms on a CPU). pconvgan's steps are traced with jax.profiler: every
thunk the XLA CPU runtime executes is matched with its instruction in the
compiled step. PyTorch's with torch.profiler: the self time of every aten
op. Both are sorted into the same kinds:

- convolution forward and backward (input and weight gradients: one aten op
  in PyTorch; apart for pconvgan, where an XLA convolution whose output is
  not batch-major is a weight gradient and one whose op_name says
  ``transpose(`` an input gradient: so the per-device batch must differ
  from every kernel's first dimension, true of the defaults);
- layout copies (XLA's transposes and copies; PyTorch's copy_, clone,
  contiguous, cat);
- everything else (elementwise fusions, batch norm, reductions, the
  optimiser).

Prints, per phase and kind, the milliseconds per step of each framework and
their ratio, beside each step's measured time. The ops' times are sums: ops
that run at the same time on different threads each count. XLA's CPU
runtime hands convolutions and matrix products to a thread pool and their
events end at the hand-over, so pconvgan's ops sum to less than its step:
the difference is mostly that convolution work (docs/performance.md).
"""

from __future__ import annotations

import argparse
import collections
import glob
import gzip
import json
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))

import common  # pylint: disable=wrong-import-position

KINDS = ("conv forward", "conv backward", "layout copies", "everything else")
# pconvgan's convolution gradients, apart (PyTorch computes both in one op).
CONV_GRADIENTS = ("conv input gradient", "conv weight gradient")


def hlo_kinds(hlo_text: str, batch: int) -> dict[str, str]:
  """Instruction name -> kind, for the instructions of a compiled step that
  run as thunks of their own (not those inside fusions).

  pconvgan's CPU forms compute many convolutions as matrix products (dot
  instructions, alone or inside fusions such as XNNPACK's): those count as
  convolution work too, forward or backward by their op_name."""
  computations, fused, owner, current = {}, set(), {}, None
  for line in hlo_text.splitlines():  # which computations hold a product
    head = re.match(r"\s*(?:ENTRY )?%?([\w.\-]+) .*\{\s*$", line)
    if head:
      current = head.group(1)
      computations.setdefault(current, False)
      continue
    name = re.match(r"\s*(?:ROOT )?%?([\w.\-]+) = ", line)
    if current and name:
      owner[name.group(1)] = current
    if current and re.search(r" (dot|convolution)\(", line):
      computations[current] = True
    calls = re.search(r" fusion\(.*calls=%?([\w.\-]+)", line)
    if calls:
      fused.add(calls.group(1))
  kinds = {}
  for line in hlo_text.splitlines():
    m = re.match(r"\s*(?:ROOT )?%?([\w.\-]+) = (\w+)\[([\d,]*)\]\S* ([\w\-]+)\(",
                 line)
    if not m:
      continue
    name, shape, opcode = m.group(1), m.group(3), m.group(4)
    if owner.get(name) in fused:
      continue  # inside a fusion: its thunk is the fusion's
    calls = re.search(r"calls=%?([\w.\-]+)", line)
    op_name = re.search(r'op_name="([^"]*)"', line)
    backward = bool(op_name) and "transpose(" in op_name.group(1)
    if opcode == "convolution":
      dims = [int(d) for d in shape.split(",") if d]
      if not dims or dims[0] != batch:
        kinds[name] = "conv weight gradient"
      elif backward:
        kinds[name] = "conv input gradient"
      else:
        kinds[name] = "conv forward"
    elif opcode == "dot" or (opcode == "fusion" and calls
                             and computations.get(calls.group(1))):
      kinds[name] = "product backward" if backward else "product forward"
    elif opcode in ("transpose", "copy") or (
        opcode == "fusion" and re.match(r"(transpose|copy)", name)):
      kinds[name] = "layout copies"
    else:
      kinds[name] = "everything else"
  return kinds


def torch_kind(op: str) -> str:
  """The kind of an aten op's self time."""
  if re.search(r"convolution_backward", op):
    return "conv backward"  # input and weight gradients in one op
  if re.search(r"(mkldnn|_slow|thnn)_conv|aten::_convolution$", op):
    return "conv forward"
  if op in ("aten::copy_", "aten::clone", "aten::contiguous", "aten::cat",
            "aten::to", "aten::_to_copy"):
    return "layout copies"
  return "everything else"


def jax_profile(args) -> dict:
  """Phase -> {kind: ms per step, 'step': measured ms per step}."""
  import jax  # pylint: disable=import-outside-toplevel
  import train_speed  # pylint: disable=import-outside-toplevel
  runners = train_speed.phase_runners(args.batch, args.size, args.width)
  result = {}
  for phase in args.phases:
    run, _, _, text = runners[phase]
    # The compiled step holds each device's share of the batch.
    kinds = hlo_kinds(text, args.batch // jax.local_device_count())
    with tempfile.TemporaryDirectory(prefix="pconvgan-profile-") as folder:
      with jax.profiler.trace(folder, create_perfetto_trace=True):
        start = time.perf_counter()
        for _ in range(args.steps):
          run()
        step_ms = (time.perf_counter() - start) / args.steps * 1e3
      path = glob.glob(os.path.join(folder, "**", "*.trace.json.gz"),
                       recursive=True)[0]
      with gzip.open(path) as f:
        trace = json.load(f)
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    totals = collections.Counter()
    for e in events:
      kind = kinds.get(e.get("name")) if e.get("ph") == "X" else None
      if kind:
        totals[kind] += e["dur"] / 1e3 / args.steps
    totals["conv forward"] += totals["product forward"]
    totals["conv backward"] = sum(totals[k] for k in (*CONV_GRADIENTS,
                                                      "product backward"))
    result[phase] = {**totals, "step": step_ms}
  return result


def torch_profile(args) -> dict:
  """As jax_profile, for bench/torch_reference.py's steps."""
  import torch  # pylint: disable=import-outside-toplevel
  import torch_reference  # pylint: disable=import-outside-toplevel
  runners = torch_reference.phase_runners(args.batch, args.size, args.width)
  result = {}
  for phase in args.phases:
    run = runners[phase]
    activities = [torch.profiler.ProfilerActivity.CPU]
    with torch.profiler.profile(activities=activities) as prof:
      start = time.perf_counter()
      for _ in range(args.steps):
        run()
      step_ms = (time.perf_counter() - start) / args.steps * 1e3
    totals = collections.Counter()
    for ev in prof.key_averages():
      kind = torch_kind(ev.key)
      totals[kind] += ev.self_cpu_time_total / 1e3 / args.steps
    result[phase] = {**totals, "step": step_ms}
  return result


def main() -> None:
  p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  p.add_argument("--batch", type=int, default=16, help="batch size")
  p.add_argument("--size", type=int, default=128, help="image side in pixels")
  p.add_argument("--width", type=float, default=1.0,
                 help="channel width multiplier of the networks")
  p.add_argument("--steps", type=int, default=3,
                 help="profiled steps per phase (after a warm-up step)")
  p.add_argument("--phases", nargs="+",
                 default=["generator", "discriminator", "joint"],
                 choices=["generator", "discriminator", "joint"],
                 help="the training steps to profile")
  p.add_argument("--worker", choices=["jax", "torch"], help=argparse.SUPPRESS)
  args = p.parse_args()
  if args.worker:
    fn = jax_profile if args.worker == "jax" else torch_profile
    print(json.dumps(fn(args)))
    return
  results = {}
  for worker in ("jax", "torch"):
    out = subprocess.run([sys.executable, __file__, "--worker", worker,
                          *sys.argv[1:]], check=True, stdout=subprocess.PIPE,
                         text=True).stdout
    results[worker] = json.loads(out.strip().splitlines()[-1])
  print(f"{common.cpu_description()}; batch {args.batch}, {args.size} px, "
        f"width {args.width}, "
        f"{args.steps} profiled steps per phase; ms per step")
  for phase in args.phases:
    jx, tc = results["jax"][phase], results["torch"][phase]
    print(f"\n{phase} step | pconvgan | PyTorch | pconvgan / PyTorch")
    for kind in (*KINDS, "step"):
      a, b = jx.get(kind, 0.0), tc.get(kind, 0.0)
      label = "whole step (wall)" if kind == "step" else kind
      ratio = f"{a / b:.2f}" if b else "-"
      print(f"{label} | {a:.0f} | {b:.0f} | {ratio}")
    print("pconvgan's conv backward: "
          + ", ".join(f"{k} {jx.get(k, 0.0):.0f}" for k in (
              *CONV_GRADIENTS, "product forward", "product backward")))
    total_j = sum(jx.get(k, 0.0) for k in KINDS)
    total_t = sum(tc.get(k, 0.0) for k in KINDS)
    print(f"sum of the ops | {total_j:.0f} | {total_t:.0f} | "
          f"{total_j / total_t:.2f}")


if __name__ == "__main__":
  main()
