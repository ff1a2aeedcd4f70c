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
Time: the paper reports about 14 hours on an NVIDIA K80; on a 2-core CPU a
joint step takes about 5.6 s (bench/train_speed.py), so this schedule is for
GPUs.
"""

import ml_collections

from pconvgan import losses
from pconvgan import masks


def get_config() -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict()
  config.seed = 0  # initialisation seed of all networks

  config.model = ml_collections.ConfigDict()
  config.model.width = 1.0  # multiplier on the generator's filters
  config.model.partial = True  # False: ordinary convolutions (ablation d)
  config.model.bn_momentum = 0.9  # weight of old running statistics
  config.model.bn_eps = 1e-5  # added to batch-norm variances

  config.discriminator = ml_collections.ConfigDict()
  config.discriminator.width = 1.0  # multiplier on the discriminators' filters
  config.discriminator.fc_features = 512  # fully connected width (paper: open)
  config.discriminator.local = True  # False: global discriminator only (ablation c)

  config.data = ml_collections.ConfigDict()
  config.data.source = "places365"  # demo | folder | places365
  config.data.path = ""  # image folder, or the Places365 root (e.g. data_256)
  config.data.train_list = ""  # Places365 list, e.g. places365_train_standard.txt
  config.data.test_list = ""  # test list; empty: hold out test_size images
  config.data.test_path = ""  # separate test folder; empty: hold out
  config.data.train_size = 30_000  # training images used (0 = all)
  config.data.test_size = 1_000  # test images (0 = all of a test list)
  config.data.split_seed = 0  # seed of the train/test split
  config.data.image_size = 128  # side of the square crops
  config.data.resize = 0  # shorter side before cropping (0 = image_size)
  config.data.random_crop = True  # random (else centred) training crops
  config.data.random_flip = True  # random left-right flips in training
  config.data.random_scale = (0, 0)  # (min, max) random shorter side; (0, 0) = resize
  config.data.random_rotate = False  # random 90-degree rotations in training
  config.data.workers = 2  # grain worker processes (0 = in the main process)
  config.data.seed = 0  # seed of shuffling, augmentation, training masks

  config.mask = ml_collections.ConfigDict()
  config.mask.kind = "paper"  # paper | box | freeform | mix | folder
  config.mask.paper_holes = masks.PAPER_HOLES  # (top, bottom, left, right) at 128 px
  config.mask.box_count = (1, 2)  # min, max rectangles (kind 'box')
  config.mask.box_size = (0.15, 0.45)  # min, max side as image fraction ('box')
  config.mask.buckets = masks.LIU_BUCKETS  # hole-ratio ranges ('freeform')
  config.mask.mix = (1.0, 1.0, 1.0)  # weights of paper, box, freeform ('mix')
  config.mask.folder = ""  # mask images, white = hole ('folder')
  config.mask.threshold = 127  # mask-file pixels above this are hole

  config.loss = ml_collections.ConfigDict()
  config.loss.valid_weight = losses.VALID_WEIGHT  # weight of L_MSE- (1/6)
  config.loss.adv_weight = losses.ADV_WEIGHT  # lambda of L_G (1/2000)
  config.loss.l1_weight = 0.0  # weight of L1 terms added to L_MSE (paper: 0)

  config.optim = ml_collections.ConfigDict()
  config.optim.g_learning_rate = 1e-3  # generator Adam learning rate
  config.optim.g_b1 = 0.9  # generator Adam beta 1
  config.optim.g_b2 = 0.999  # generator Adam beta 2
  config.optim.d_learning_rate = 1e-3  # discriminators' Adam learning rate
  config.optim.d_b1 = 0.9  # discriminators' Adam beta 1
  config.optim.d_b2 = 0.999  # discriminators' Adam beta 2
  config.optim.ema_decay = 0.0  # moving average of G's weights (0 = none)
  config.optim.g_decay_start = 0  # step where G's learning rate starts to fall
  config.optim.g_decay_steps = 0  # length of its half-cosine fall (0 = constant)
  config.optim.g_final_lr_fraction = 0.1  # G's learning rate after the fall

  config.train = ml_collections.ConfigDict()
  config.train.batch_size = 16  # global batch over all devices
  config.train.phase_steps = (25_000, 6_000, 94_000)  # G only, D only, joint
  config.train.log_every = 50  # steps between metrics records
  config.train.sample_every = 1000  # steps between sample grids
  config.train.checkpoint_every = 1000  # steps between checkpoints
  config.train.keep_checkpoints = 3  # recent checkpoints kept
  config.train.sample_count = 4  # test images per sample grid
  config.train.init_from = ""  # weights file or run a new run's generator starts from
  return config
