"""The shipped model's recipe: the paper's generator trained on photographs.

The paper's Table 1 generator at full width and 128 px, on the photo corpus
of ``python -m pconvgan.corpus`` (freely licensed photographs from Debian and
Python packages; whole photographs held out for evaluation), with what a
small corpus and a short schedule on a CPU need: masks mixed from the
paper's rectangles, random boxes and free-form strokes over Liu et al.'s
hole ratios, crops at random scales, an L1 term beside the paper's MSE and a
moving average of the generator's weights. See docs/photos.md for the
measurements behind each choice.

    python -m pconvgan.corpus --out ~/data/photos
    python train.py --config configs/photos.py --workdir ~/runs/photos \\
        --config.data.path=~/data/photos/train \\
        --config.data.test_path=~/data/photos/test
"""

import os

from configs import base


def use_corpus(config):
  """``config`` reading the corpus at ~/data/photos (training photographs,
  held-out crops), every one of them."""
  home = os.path.expanduser("~")
  config.data.source = "folder"  # the corpus' training photographs
  config.data.path = os.path.join(home, "data/photos/train")  # corpus train/
  config.data.test_path = os.path.join(home, "data/photos/test")  # held-out crops
  config.data.train_size = 0  # every training photograph
  config.data.test_size = 0  # every held-out crop
  return config


def get_config():
  config = base.get_config()
  use_corpus(config)
  config.data.random_scale = (160, 768)  # shorter side before the crop, log-uniform
  config.data.workers = 1  # one loader process beside the training step
  config.mask.kind = "mix"  # paper, box and free-form masks
  config.mask.mix = (1.0, 1.0, 2.0)  # weights of paper, box, freeform
  config.mask.box_count = (1, 3)  # 1 to 3 rectangles
  config.mask.box_size = (0.1, 0.5)  # sides 10-50% of the image
  config.loss.l1_weight = 1.0  # L1 terms beside L_MSE
  config.optim.ema_decay = 0.999  # moving average of the generator: the model
  config.optim.g_decay_start = 8_500  # the shipped run's rate fell from here
  config.optim.g_decay_steps = 3_000  # over this many steps (half cosine)
  config.optim.g_final_lr_fraction = 0.1  # to 1e-4, kept for the rest
  config.train.phase_steps = (28_000, 2_000, 20_000)  # G only, D only, joint
  config.train.log_every = 50  # steps between metrics records
  config.train.sample_every = 500  # steps between sample grids
  config.train.checkpoint_every = 250  # steps between checkpoints
  config.train.keep_checkpoints = 3  # recent checkpoints kept
  config.train.sample_count = 8  # held-out crops per sample grid
  return config
