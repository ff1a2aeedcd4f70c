"""The paper's ablation (d), Figures 4d and 8b: ordinary convolutions.

The base config with every partial convolution replaced by an ordinary one;
holes are filled with the known pixels' mean colour. Same data flags and
schedule as base.py.
Time: slightly less than base.py (no mask convolutions).
"""

from configs import base


def get_config():
  config = base.get_config()
  config.model.partial = False  # ordinary instead of partial convolutions
  return config
