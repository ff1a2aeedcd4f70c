"""Images/s of each training phase's step and its memory, side by side.

    python bench/train_speed.py [--batch 16] [--size 128] [--width 1.0]

Times the jitted, donated step of each phase (generator on L_MSE;
discriminators on L_D; joint D-then-G step) exactly as train.py runs them,
on every local device, and prints images/s, the step's compiled memory
(arguments + outputs + temporaries, from XLA's memory analysis) and the
process's peak resident memory.
"""

from __future__ import annotations

import resource
import time

import common
import jax
import jax.numpy as jnp

from pconvgan import generator
from pconvgan import steps


def phase_runners(batch: int = 16, size: int = 128, width: float = 1.0
                  ) -> dict:
  """Phase -> (run, compile s, compiled step MiB, compiled HLO text):
  ``run()`` does one jitted, donated step exactly as train.py does and waits
  for it; warmed up."""
  mesh = steps.make_mesh()
  replicated, sharded = steps.shardings(mesh)
  g_cfg = generator.GeneratorConfig(width=width)
  d_cfg = {"width": width}
  g_tx, d_tx = steps.make_optimizers(None)
  holder = {"state": jax.device_put(steps.init_state(
      jax.random.key(0), size, g_cfg, d_cfg, g_tx, d_tx), replicated)}
  s, b = size, batch
  mask = jnp.asarray(common.paper_masks(b, s))
  data = jax.device_put({"image": jax.random.uniform(jax.random.key(1),
                                                     (b, s, s, 3)),
                         "mask": mask}, sharded)
  fns = steps.make_steps(mesh, g_tx, d_tx, g_cfg, steps.LossConfig())
  runners = {}
  for phase in steps.PHASES:
    start = time.perf_counter()
    compiled = fns[phase].lower(holder["state"], data).compile()
    compile_s = time.perf_counter() - start
    mem = compiled.memory_analysis()
    step_mib = ((mem.argument_size_in_bytes + mem.output_size_in_bytes
                 + mem.temp_size_in_bytes) / 2**20) if mem else float("nan")
    def run(fn=fns[phase]):
      holder["state"], metrics = fn(holder["state"], data)
      jax.block_until_ready(metrics)
    run()  # warm-up
    runners[phase] = (run, compile_s, step_mib, compiled.as_text())
  return runners


def phase_rates(batch: int = 16, size: int = 128, width: float = 1.0,
                repeats: int = 4) -> dict:
  """Phase -> (images/s, compile s, compiled step MiB) of the jitted steps."""
  rates = {}
  for phase, (run, compile_s, step_mib, _) in phase_runners(batch, size,
                                                         width).items():
    runs = [common.seconds(run) for _ in range(repeats)]
    rates[phase] = (common.median_rate(batch, runs), compile_s, step_mib)
  return rates


def main() -> None:
  args = common.parser(__doc__).parse_args()
  print(f"jax {jax.__version__}, {jax.device_count()} {jax.devices()[0].platform} "
        f"device(s); batch {args.batch}, {args.size}x{args.size}, width "
        f"{args.width}, median of {args.repeats}")
  print(f"{'phase':<15}{'compile s':>10}{'step ms':>10}{'images/s':>10}"
        f"{'step MiB':>10}")
  rates = phase_rates(args.batch, args.size, args.width, args.repeats)
  for phase, (rate, compile_s, step_mib) in rates.items():
    print(f"{phase:<15}{compile_s:>10.1f}{args.batch / rate * 1e3:>10.0f}"
          f"{rate:>10.2f}{step_mib:>10.0f}")
  peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
  print(f"peak resident memory of this process: {peak:.0f} MiB")


if __name__ == "__main__":
  main()
