"""What the refinement head, the SSIM term and the VGG16 terms cost, side by
side in one run.

    python bench/refine_speed.py [--batch 16] [--size 128] [--width 1.0] [--refine 32]

Times the jitted, donated generator-phase step exactly as train.py runs it
(L1 + MSE as in configs/photos.py) for: the U-Net alone; the U-Net with the
refinement head (``model.refine``); the head alone on a frozen U-Net
(``optim.freeze_unet``, configs/photos_refine.py); the same with the SSIM
term (``loss.ssim_weight``); U-Net and head together with Liu et al.'s
perceptual and style terms (``loss.perceptual_weight``,
``loss.style_weight``); and the inference forward pass with and without
the head. Steps are timed in alternation, so the machine's load weighs on
all alike; the last column is each one's time over the first's.
"""

from __future__ import annotations

import statistics

import common
import jax
import jax.numpy as jnp

import pconvgan
from pconvgan import generator
from pconvgan import steps


def step_runner(batch: int, size: int, width: float, refine: int,
                freeze_unet: bool = False, ssim_weight: float = 0.0,
                vgg_weight: float = 0.0):
  """``run()``: one generator-phase step as train.py runs it; warmed up."""
  mesh = steps.make_mesh()
  replicated, sharded = steps.shardings(mesh)
  g_cfg = generator.GeneratorConfig(width=width, refine=refine)
  optim = steps.OptimConfig(freeze_unet=freeze_unet)
  loss = steps.LossConfig(l1_weight=1.0, ssim_weight=ssim_weight,
                          perceptual_weight=vgg_weight,
                          style_weight=vgg_weight)
  g_tx, d_tx = steps.make_optimizers(optim)
  holder = {"state": jax.device_put(steps.init_state(
      jax.random.key(0), size, g_cfg, {"width": width}, g_tx, d_tx),
                                    replicated)}
  data = jax.device_put(
      {"image": jax.random.uniform(jax.random.key(1), (batch, size, size, 3)),
       "mask": jnp.asarray(common.paper_masks(batch, size))}, sharded)
  fn = steps.make_steps(mesh, g_tx, d_tx, g_cfg, loss,
                        optim_config=optim)["generator"]
  def run():
    holder["state"], metrics = fn(holder["state"], data)
    jax.block_until_ready(metrics)
  run()
  return run


def forward_runner(batch: int, size: int, width: float, refine: int):
  """``run()``: one jitted inference forward pass; warmed up."""
  config = {"width": width, "refine": refine}
  variables = pconvgan.init(jax.random.key(0), config)
  x = jax.random.uniform(jax.random.key(1), (batch, size, size, 3))
  m = jnp.asarray(common.paper_masks(batch, size))
  fn = jax.jit(lambda v, x, m: pconvgan.apply(v, x, m, config=config))
  def run():
    jax.block_until_ready(fn(variables, x, m))
  run()
  return run


def main() -> None:
  p = common.parser(__doc__, repeats=5)
  p.add_argument("--refine", type=int, default=32,
                 help="channels of the refinement head")
  args = p.parse_args()
  b, s, w, r = args.batch, args.size, args.width, args.refine
  runners = {
      "step: U-Net": step_runner(b, s, w, 0),
      "step: U-Net + head": step_runner(b, s, w, r),
      "step: head, frozen U-Net": step_runner(b, s, w, r, freeze_unet=True),
      "step: head + SSIM term": step_runner(b, s, w, r, freeze_unet=True,
                                            ssim_weight=0.1),
      "step: U-Net + head + VGG16": step_runner(b, s, w, r, vgg_weight=0.1),
      "forward: U-Net": forward_runner(b, s, w, 0),
      "forward: U-Net + head": forward_runner(b, s, w, r),
  }
  times = {name: [] for name in runners}
  for _ in range(args.repeats):
    for name, run in runners.items():
      times[name].append(common.seconds(run))
  print(f"jax {jax.__version__} on {jax.devices()[0].platform}; batch {b}, "
        f"{s}x{s}, width {w}, head {r} channels, median of {args.repeats}")
  print(f"{'what':<28}{'ms':>8}{'images/s':>10}{'ratio':>7}")
  first = {}
  for name, runs in times.items():
    t = statistics.median(runs)
    base = first.setdefault(name.split(":")[0], t)
    print(f"{name:<28}{t * 1e3:>8.0f}{b / t:>10.2f}{t / base:>7.2f}")


if __name__ == "__main__":
  main()
