"""Image-quality metrics of inpainted composites, in NumPy (evaluated on the host).

All take float images in [0, 1], (H, W, 3), and a (H, W, 1) mask with
1 = known pixel; they are computed on the composite (known pixels of the
ground truth, generated ones in the hole), as Liu et al. report them.

- ``hole_l1``: mean absolute error over the hole's pixels and channels, in %.
- ``psnr``: over the whole image, in dB; capped at ``PSNR_CAP`` so identical
  images give a finite number.
- ``ssim``: Wang et al.'s SSIM, Gaussian window 11 / sigma 1.5, K1 0.01,
  K2 0.03, data range 1, averaged over channels and valid positions
  (scikit-image's ``structural_similarity`` with those settings).
- ``lpips``: LPIPS (AlexNet) of the composite, from ``pconvgan.lpips``;
  computed per batch by the caller and given to ``Accumulator.add``.
- ``gradient_energy``: summed gradient magnitude inside the hole; the ratio of
  the output's to the ground truth's is the sharpness figure (below 1: blur).
- ``colour_shift``: distance between the mean colours of the filled hole and
  the ground truth's hole, in 8-bit levels.
- ``checkerboard_energy``: the hole's energy at the half-sampling frequency
  (patterns of period 2 pixels across rows, columns or both, the decoder's
  2x2 upsampling lattice); the ratio of the output's to the ground truth's
  is the checkerboard figure (above 1: a pattern the photograph lacks).
"""

from __future__ import annotations

import numpy as np

from pconvgan import masks

PSNR_CAP = 100.0


# Hole pixels (mask <= 0.5), the complement of composite()'s known ones: the
# masks' own binarisation, one definition for the masks and the metrics.
hole_pixels = masks.hole_pixels


def hole_l1(output: np.ndarray, target: np.ndarray, mask: np.ndarray) -> float:
  """Mean |output - target| over hole pixels and channels, in percent."""
  hole = hole_pixels(mask)
  if not hole.any():
    return 0.0
  return float(np.mean(np.abs(output[hole] - target[hole])) * 100.0)


def psnr(output: np.ndarray, target: np.ndarray) -> float:
  """Peak signal-to-noise ratio (data range 1) in dB, at most PSNR_CAP."""
  mse = float(np.mean(np.square(np.asarray(output, np.float64) - target)))
  if mse <= 10 ** (-PSNR_CAP / 10):
    return PSNR_CAP
  return float(10.0 * np.log10(1.0 / mse))


def ssim(output: np.ndarray, target: np.ndarray) -> float:
  """Structural similarity (Wang et al. 2004), mean over channels and windows."""
  from skimage.metrics import structural_similarity  # pylint: disable=import-outside-toplevel
  x = np.asarray(output, np.float64)
  y = np.asarray(target, np.float64)
  if min(x.shape[:2]) < 11:
    raise ValueError(f"ssim needs images of at least 11x11, got {x.shape[:2]}")
  # use_sample_covariance=False: Wang et al.'s weighted (population) moments.
  return float(structural_similarity(
      x, y, data_range=1.0, channel_axis=-1, gaussian_weights=True, sigma=1.5,
      use_sample_covariance=False, win_size=11))


def gradient_energy(image: np.ndarray, mask: np.ndarray) -> float:
  """Sum over hole pixels of the gradient magnitude (forward differences,
  channels averaged)."""
  grey = np.asarray(image, np.float64).mean(-1)
  dy = np.zeros_like(grey)
  dx = np.zeros_like(grey)
  dy[:-1] = grey[1:] - grey[:-1]
  dx[:, :-1] = grey[:, 1:] - grey[:, :-1]
  return float(np.sum(np.sqrt(dx ** 2 + dy ** 2)[hole_pixels(mask)]))


def colour_shift(output: np.ndarray, target: np.ndarray, mask: np.ndarray
                 ) -> float:
  """|mean RGB of output's hole - mean RGB of target's hole|, in 8-bit levels."""
  hole = hole_pixels(mask)
  if not hole.any():
    return 0.0
  diff = np.mean(output[hole], 0) - np.mean(target[hole], 0)
  return float(np.linalg.norm(diff) * 255.0)


# Windows that measure the local amplitude of a period-2 pattern along one
# axis: the binomial low-pass [1, 3, 3, 1] / 8 modulated by (-1)^k. It gives
# +-A on A * (-1)^x and exactly 0 on polynomials of degree 2 or less, so
# smooth shading and gradients are not counted.
_NYQUIST = np.array([1.0, -3.0, 3.0, -1.0]) / 8.0
_LOWPASS = np.array([1.0, 3.0, 3.0, 1.0]) / 8.0
CHECKERBOARD_WINDOW = 4


def _filter_valid(grey: np.ndarray, rows: np.ndarray, cols: np.ndarray
                  ) -> np.ndarray:
  """Separable correlation over every full 4x4 window (valid positions)."""
  k = CHECKERBOARD_WINDOW
  h, w = grey.shape
  tmp = sum(cols[j] * grey[:, j:w - k + 1 + j] for j in range(k))
  return sum(rows[i] * tmp[i:h - k + 1 + i] for i in range(k))


def checkerboard_energy(image: np.ndarray, mask: np.ndarray) -> float:
  """Sum, over the 4x4 windows that lie wholly in the hole, of the squared
  local amplitudes of the three period-2 patterns (-1)^x, (-1)^y and
  (-1)^(x+y) of the channel mean. A pattern A * (-1)^x fills each window
  with A^2; flat, linear and quadratic shading gives 0."""
  k = CHECKERBOARD_WINDOW
  grey = np.asarray(image, np.float64).mean(-1)
  hole = hole_pixels(mask)
  # An image smaller than a window has no valid position: empty maps, 0.
  inside = _filter_valid(hole.astype(np.float64), np.ones(k), np.ones(k)
                         ) > k * k - 0.5
  if not inside.any():
    return 0.0
  energy = (np.square(_filter_valid(grey, _LOWPASS, _NYQUIST))
            + np.square(_filter_valid(grey, _NYQUIST, _LOWPASS))
            + np.square(_filter_valid(grey, _NYQUIST, _NYQUIST)))
  return float(np.sum(energy[inside]))


def composite(output: np.ndarray, image: np.ndarray, mask: np.ndarray
              ) -> np.ndarray:
  return np.where(np.asarray(mask) > 0.5, image, output)


def mean_fill(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
  """The baseline of the paper's section 3: holes filled with the known pixels'
  mean colour."""
  known = ~hole_pixels(mask)
  colour = image[known].mean(0) if known.any() else np.full(3, 0.5, np.float32)
  return np.where(known[..., None], image, colour).astype(np.float32)


class Accumulator:
  """Sums per-image metrics of composites; ``summary()`` gives the averages
  and the dataset-level sharpness and checkerboard ratios."""

  def __init__(self):
    self.n = 0
    self.sums = {"hole_l1": 0.0, "psnr": 0.0, "ssim": 0.0, "colour_shift": 0.0,
                 "lpips": 0.0}
    self.grad_out = 0.0
    self.grad_true = 0.0
    self.grid_out = 0.0
    self.grid_true = 0.0

  def add(self, filled: np.ndarray, target: np.ndarray, mask: np.ndarray,
          lpips: float = float("nan")) -> None:
    """Adds one composite; ``lpips`` its LPIPS distance (NaN: not computed)."""
    self.n += 1
    self.sums["lpips"] += lpips
    self.sums["hole_l1"] += hole_l1(filled, target, mask)
    self.sums["psnr"] += psnr(filled, target)
    self.sums["ssim"] += ssim(filled, target)
    self.sums["colour_shift"] += colour_shift(filled, target, mask)
    self.grad_out += gradient_energy(filled, mask)
    self.grad_true += gradient_energy(target, mask)
    self.grid_out += checkerboard_energy(filled, mask)
    self.grid_true += checkerboard_energy(target, mask)

  def summary(self) -> dict:
    out = {k: v / max(self.n, 1) for k, v in self.sums.items()}
    out["sharpness"] = (self.grad_out / self.grad_true if self.grad_true > 0
                        else float("nan"))
    out["checkerboard"] = (self.grid_out / self.grid_true
                           if self.grid_true > 0 else float("nan"))
    out["images"] = self.n
    return out
