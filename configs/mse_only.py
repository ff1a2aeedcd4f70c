"""The paper's ablation (b), Figures 4b and 6b: trained on L_MSE only.

The base config with the adversarial phases removed: 125,000 generator-only
iterations (the paper's total), so that blur can be compared with the full
model at the same number of generator updates. Same data flags as base.py.
Like base.py's, this schedule is for GPUs (bench/train_speed.py measures a
generator step here).
"""

from configs import base


def get_config():
  config = base.get_config()
  config.train.phase_steps = (125_000, 0, 0)  # generator on L_MSE only
  return config
