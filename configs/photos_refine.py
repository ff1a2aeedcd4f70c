"""The shipped generator with a full-resolution refinement head.

The paper's decoder reaches full resolution through one 3-channel layer
fed by nearest-upsampled features, and its fills err most on the pixels
next to the hole's border (docs/photos.md). This config adds the refinement
head (``model.refine``: three 3x3 convolutions of the output, the masked
image and the mask, the last one starting at zero) to a trained generator
(by default the one that ships with pconvgan) and trains the head alone in
the generator-only phase, with the photo recipe's data, masks and losses:
the U-Net stays as it is, in inference mode (``optim.freeze_unet``), so a
step costs its forward pass and the head's training only.

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
  config.optim.freeze_unet = True  # train the head only
  config.optim.g_learning_rate = 1e-3  # the head's rate
  config.optim.g_decay_steps = 0  # constant rate
  return config
