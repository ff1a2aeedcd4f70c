"""What the mask tests share: the hole of a known-pixel mask and recording
stand-ins for a random generator and an ImageDraw."""

import numpy as np


def hole(mask):
  return mask[..., 0] < 0.5


class RecordingRng:
  """A NumPy generator that logs each draw as (method, args, value)."""

  def __init__(self, seed):
    self.rng, self.log = np.random.default_rng(seed), []

  def __getattr__(self, name):
    method = getattr(self.rng, name)

    def draw(*args, **kwargs):
      value = method(*args, **kwargs)
      self.log.append((name, args, value, kwargs) if kwargs else
                      (name, args, value))
      return value
    return draw


class RecordingDraw:
  """An ImageDraw stand-in that logs line and ellipse calls."""

  def __init__(self):
    self.lines, self.ellipses = [], []

  def line(self, points, fill, width, joint):
    self.lines.append((list(points), fill, width, joint))

  def ellipse(self, box, fill):
    self.ellipses.append((tuple(box), fill))
