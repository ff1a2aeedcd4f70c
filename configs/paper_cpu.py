"""The paper's Figure 4 experiment scaled to two CPU cores (issue 33).

The four models of Figure 4, trained alike on the photo corpus
(``python -m pconvgan.corpus``) with the paper's two-rectangle masks, 128 px
and batch 16, Adam 1e-3, L_MSE and lambda 1/2000 as base.py, at half the
network's width and 0.4 of its schedule (10,000 generator-only, 2,400
discriminator-only and 37,600 joint steps, the paper's proportions): about
a day of two cores for all four. The variant is the config's argument:

    python train.py --config configs/paper_cpu.py:g1 --workdir ~/runs/paper/g1
    python train.py --config configs/paper_cpu.py:a --workdir ~/runs/paper/a

- ``g1``: the generator-only phase that (a), (b) and (c) share;
- ``a``: the full model, from g1's generator: discriminator-only, then joint;
- ``b``: L_MSE only, from g1's generator: as many more generator steps as
  (a) takes joint steps;
- ``c``: as (a) without the local discriminators;
- ``d``: ordinary instead of partial convolutions, all three phases.

experiments/paper_figure4.sh runs them in order and evaluates each
variant's checkpoints on the held-out crops.
"""

import os

from configs import base
from configs import photos

WIDTH = 0.5  # of the paper's filters, generator and discriminators alike
PHASES = (10_000, 2_400, 37_600)  # 0.4 of the paper's 25k / 6k / 94k
VARIANTS = ("g1", "a", "b", "c", "d")


def get_config(variant: str = "g1"):
  if variant not in VARIANTS:
    raise ValueError(f"configs/paper_cpu.py takes one of {VARIANTS} after "
                     f"':', got {variant!r}")
  config = photos.use_corpus(base.get_config())
  home = os.path.expanduser("~")
  config.data.workers = 1  # one loader process beside the training step
  config.model.width = WIDTH  # half the paper's filters
  config.discriminator.width = WIDTH  # half the paper's filters
  config.train.checkpoint_every = 500  # steps between checkpoints
  config.train.keep_checkpoints = 200  # every checkpoint: each is a point of the curve
  config.train.log_every = 50  # steps between metrics records
  config.train.sample_every = 2_000  # steps between sample grids
  g1 = os.path.join(home, "runs/paper/g1")
  g_only, d_only, joint = PHASES
  if variant in ("g1", "d"):
    config.train.phase_steps = (g_only, 0, 0) if variant == "g1" else PHASES
    config.model.partial = variant != "d"  # (d): ordinary convolutions
  else:
    config.train.init_from = g1  # the shared generator-only phase
    config.train.phase_steps = ((joint, 0, 0) if variant == "b"
                                else (0, d_only, joint))
    config.discriminator.local = variant != "c"  # (c): global only
  return config
