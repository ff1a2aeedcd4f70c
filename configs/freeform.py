"""Irregular holes, the paper's future work: free-form brush-stroke masks.

The base config trained on random brush strokes whose hole ratio covers Liu
et al.'s six buckets, (0.01, 0.1] to (0.5, 0.6], each drawn equally often.
Same data flags and schedule as base.py; the schedule is for GPUs.
Time: as base.py; masks cost about 3 ms each on one CPU core.
"""

from configs import base


def get_config():
  config = base.get_config()
  config.mask.kind = "freeform"  # random brush strokes, Liu et al.'s buckets
  return config
