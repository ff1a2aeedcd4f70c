"""The paper's ablation (b), Figures 4b and 6b: trained on L_MSE only.

The base config with the adversarial phases removed: 125,000 generator-only
iterations (the paper's total), so that blur can be compared with the full
model at the same number of generator updates. Same data flags as base.py.
Time: a generator step takes about 3.8 s on a 2-core CPU (bench/train_speed.py),
1.5x less than a joint step, so this schedule too is for GPUs.
"""

from configs import base


def get_config():
  config = base.get_config()
  config.train.phase_steps = (125_000, 0, 0)  # generator on L_MSE only
  return config
