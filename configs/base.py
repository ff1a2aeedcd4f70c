"""The paper: Table 1 generator, Table 2 discriminators, two-rectangle masks.

Reproduces the setting of "Image inpainting using GANs with partial
convolutions" (section 4.4): 128x128 crops, batch 16, Adam (the authors'
defaults: lr 1e-3, betas 0.9 / 0.999), 25,000 generator-only, 6,000
discriminator-only and 94,000 joint iterations, L_MSE = L_MSE+ + L_MSE-/6,
lambda = 1/2000, 30,000 training and 1,000 test images from Places365.

    python train.py --config configs/base.py --workdir runs/base \
        --config.data.path=/data/places365/data_256 \
        --config.data.train_list=/data/places365/places365_train_standard.txt

Any folder works too: --config.data.source=folder --config.data.path=DIR.
The paper reports about 14 hours on an NVIDIA K80: this schedule is for
GPUs (bench/train_speed.py measures a step here).

Every field, its default and a one-line comment are stated once, in the
config dataclass of the module it configures; ``python -m pconvgan.config``
lists them all. The library's defaults are the paper's, except for the data
settings below.
"""

import ml_collections

from pconvgan import config as config_lib


def get_config() -> ml_collections.ConfigDict:
  config = config_lib.default_config()  # every field at its (the paper's) default
  config.data.source = "places365"  # the paper's data set
  config.data.train_size = 30_000  # training images, as the paper
  config.data.test_size = 1_000  # test images, as the paper
  config.data.workers = 2  # grain worker processes beside the step
  return config
