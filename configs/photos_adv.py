"""The adversarial phases of the photo recipe, from the shipped generator.

``configs/photos.py`` trains the generator alone for 28,000 steps, then the
paper's discriminator-only and joint phases. This config starts a new run
from a trained generator (by default the one that ships with pconvgan) and
runs only the adversarial phases, at the learning rate the generator had
reached (1e-4), with the same data, masks and losses:

    python train.py --config configs/photos_adv.py --workdir ~/runs/photos_adv

``--config.train.init_from=RUN_OR_WEIGHTS`` starts from another generator.
"""

from configs import photos
from pconvgan import weights


def get_config():
  config = photos.get_config()
  config.train.init_from = weights.PRETRAINED  # the shipped generator
  config.model.refine = 32  # the shipped generator's refinement head
  config.train.phase_steps = (0, 1_000, 30_000)  # G only, D only, joint
  config.optim.g_learning_rate = 1e-4  # the rate at the end of photos.py's fall
  config.optim.g_decay_steps = 0  # constant rate
  return config
