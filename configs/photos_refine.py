"""The shipped generator with a full-resolution refinement head.

The paper's decoder reaches full resolution through one 3-channel layer
fed by nearest-upsampled features, and its fills err most on the pixels
next to the hole's border (docs/photos.md). This config adds the refinement
head (``model.refine``: three 3x3 convolutions of the output, the masked
image and the mask, the last one starting at zero) to a trained generator
(by default the one that ships with pconvgan) and trains both in the
generator-only phase with the photo recipe's data, masks and losses: the
U-Net at the rate it had reached (1e-4), the new head at 1e-3.

    python train.py --config configs/photos_refine.py --workdir ~/runs/photos_refine

``--config.train.init_from=RUN_OR_WEIGHTS`` starts from another generator.
"""

from configs import photos
from pconvgan import weights


def get_config():
  config = photos.get_config()
  config.model.refine = 32  # channels of the refinement head
  config.train.init_from = weights.PRETRAINED  # the shipped generator
  config.train.phase_steps = (20_000, 0, 0)  # G only, D only, joint
  config.optim.g_learning_rate = 1e-4  # the U-Net's rate at the end of photos.py
  config.optim.g_decay_steps = 0  # constant rate
  config.optim.refine_learning_rate = 1e-3  # the new head's rate
  return config
