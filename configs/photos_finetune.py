"""Fine-tuning of the shipped generator, U-Net and refinement head together.

Liu et al. fine-tune their partial-convolution U-Net at a lower learning
rate with batch norm frozen; here the whole generator (by default the one
that ships with pconvgan) learns in inference mode (``optim.freeze_batch_norm``:
running statistics, kept), the head at its own rate, with the photo recipe's
data, masks and losses plus the SSIM term of the composite.

    python train.py --config configs/photos_finetune.py --workdir ~/runs/photos_finetune

``--config.train.init_from=RUN_OR_WEIGHTS`` starts from another generator.
"""

from configs import photos_refine


def get_config():
  config = photos_refine.get_config()
  config.optim.freeze_unet = False  # the U-Net learns too
  config.optim.freeze_batch_norm = True  # on its running statistics
  config.optim.g_learning_rate = 5e-5  # the U-Net's rate (Liu et al.'s fine-tuning)
  config.optim.refine_learning_rate = 1e-3  # the head's rate
  config.loss.ssim_weight = 0.5  # 1 - SSIM of the composite
  config.train.phase_steps = (10_000, 0, 0)  # G only, D only, joint
  return config
