"""Generator speed on this machine: forward pass and one gradient step.

    python bench/model_speed.py [--batch 16] [--size 128] [--repeats 5]

Prints compile time and images/s of (a) the inference forward pass and (b) one
generator training step (forward in train mode, L_MSE, gradient, Adam update),
both jitted, on the paper's setting (128x128, batch 16) by default. The
baseline for the speed work; run it twice and compare ratios on a shared box.
"""

from __future__ import annotations

import platform
import statistics

import common
import jax
import jax.numpy as jnp
import optax

import pconvgan
from pconvgan import losses


def generator_benchmarks(batch: int, size: int, width: float = 1.0):
  """[(name, jitted fn, args)] for the forward pass and the generator step."""
  key = jax.random.key(0)
  variables = pconvgan.init(key, {"width": width})
  shape = (batch, size, size)
  images = jax.random.uniform(key, shape + (3,))
  masks = jnp.asarray(common.paper_masks(batch, size))
  tx = optax.adam(1e-3)
  opt_state = tx.init(variables["params"])

  forward = jax.jit(lambda v, x, m: pconvgan.apply(v, x, m))

  def train_step(params, stats, opt_state, x, m):
    def loss_fn(p):
      out, new_stats = pconvgan.apply({"params": p, "batch_stats": stats}, x, m,
                                      train=True)
      return losses.mse_loss(out, x, m), new_stats
    (loss, new_stats), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), new_stats, opt_state, loss

  step_args = (variables["params"], variables["batch_stats"], opt_state,
               images, masks)
  return [
      ("forward (inference)", forward, (variables, images, masks)),
      ("generator gradient step", jax.jit(train_step), step_args),
      ("same, pconvgan.training_jit", pconvgan.training_jit(train_step),
       step_args),
  ]


def main() -> None:
  args = common.parser(__doc__, repeats=5).parse_args()
  benchmarks = generator_benchmarks(args.batch, args.size, args.width)
  variables = pconvgan.init(jax.random.key(0), {"width": args.width})
  s = args.size
  print(f"jax {jax.__version__} on {jax.devices()[0].platform} "
        f"({jax.device_count()} device(s)), {platform.processor() or platform.machine()}")
  print(f"generator width {args.width}, {pconvgan.count_params(variables['params']):,} "
        f"parameters, batch {args.batch}, {s}x{s}, median of {args.repeats}")
  print(f"{'what':<28}{'compile s':>10}{'step ms':>10}{'images/s':>10}")
  for name, fn, fargs in benchmarks:
    compile_s, runs = common.timed(fn, *fargs, repeats=args.repeats)
    step = statistics.median(runs)
    print(f"{name:<28}{compile_s:>10.1f}{step * 1e3:>10.0f}{args.batch / step:>10.2f}")


if __name__ == "__main__":
  main()
