"""A tiny run for tests: the demo photographs at 32 px, a 1/8-width model."""

from configs import base


def shrink(config, model_width=True):
  """``config`` at the tests' size, on the built-in photographs (the
  generator keeps its width unless ``model_width``)."""
  if model_width:
    config.model.width = 0.125
  config.discriminator.width = 0.125
  config.discriminator.fc_features = 8
  config.data.source = "demo"
  config.data.train_size = 0
  config.data.test_size = 1
  config.data.image_size = 32
  config.data.workers = 0
  config.train.log_every = 1
  config.train.sample_every = 0
  return config


def get_config():
  config = shrink(base.get_config())
  config.train.batch_size = 4
  config.train.phase_steps = (3, 2, 3)
  config.train.checkpoint_every = 2
  config.train.sample_count = 1
  return config
