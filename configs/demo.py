"""The built-in demo: trains on the packaged photographs in minutes on a CPU.

No download, no GPU: a half-width generator on random 64x64 crops of the
nine demo photographs (resized to 128 px; two held out for the sample grids),
with the paper's two holes scaled to 64 px, through all three phases, in
minutes on 2 CPU cores. It shows the system at work, not a useful model
(seven training photographs; docs/photos.md measures it against the mean
colour and OpenCV's Telea). See WORKDIR/samples/ and
`python eval.py --ckpt WORKDIR`.

    python train.py --config configs/demo.py --workdir runs/demo
"""

from configs import base


def get_config():
  config = base.get_config()
  config.model.width = 0.5  # half the paper's filters
  config.discriminator.width = 0.5  # half the paper's filters
  config.discriminator.fc_features = 128  # smaller fully connected layers
  config.data.source = "demo"  # the photographs in pconvgan/demo_data
  config.data.train_size = 0  # all 7 training photographs
  config.data.test_size = 2  # two held out for the sample grids
  config.data.split_seed = 9  # holds out chelsea.jpg and gravel.jpg
  config.data.image_size = 64  # 64x64 crops
  config.data.resize = 128  # ... of the photographs at 128 px: many crops
  config.data.workers = 0  # load in the main process
  config.train.batch_size = 8  # small batches
  config.train.phase_steps = (1600, 200, 600)  # G only, D only, joint
  config.train.log_every = 50  # steps between metrics records
  config.train.sample_every = 400  # steps between sample grids
  config.train.checkpoint_every = 400  # steps between checkpoints
  config.train.sample_count = 2  # the held-out photographs
  return config
