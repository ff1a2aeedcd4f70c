"""The paper's adversarial phases, continuing the shipped model's fine-tuning.

``configs/photos.py`` trains the generator alone, then
``configs/photos_finetune.py`` fine-tunes the U-Net and the refinement head
together with batch norm frozen. This config starts a new run from a
trained generator (by default the one that ships with pconvgan) and runs the
paper's discriminator-only and joint phases with that fine-tuning's
settings (batch norm on its running statistics, U-Net 5e-5, head 1e-3, the
same data, masks and losses):

    python train.py --config configs/photos_adv.py --workdir ~/runs/photos_adv

``--config.train.init_from=RUN_OR_WEIGHTS`` starts from another generator;
``--config.loss.perceptual_weight`` and ``--config.loss.style_weight`` add
Liu et al.'s VGG16 terms (GPU work: they cost about four CPU steps).
"""

from configs import photos_finetune


def get_config():
  config = photos_finetune.get_config()
  config.train.phase_steps = (0, 1_000, 30_000)  # G only, D only, joint
  config.optim.g_decay_steps = 0  # constant rates
  return config
