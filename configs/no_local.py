"""The paper's ablation (c), Figures 4c and 7b: no local discriminators.

The base config with only the global discriminator; the combiner sees its
features alone. Same data flags and schedule as base.py.
Time: slightly less than base.py (about 14 h on a K80 in the paper).
"""

from configs import base


def get_config():
  config = base.get_config()
  config.discriminator.local = False  # global discriminator only
  return config
