"""Metrics against hand-computed values and a brute-force SSIM loop."""

import math

import numpy as np
import pytest

from pconvgan import metrics


def quarter_hole(h=8, w=8):
  mask = np.ones((h, w, 1), np.float32)
  mask[: h // 2, : w // 2] = 0
  return mask


def test_hole_l1_by_hand():
  target = np.zeros((8, 8, 3), np.float32)
  output = np.full((8, 8, 3), 0.5, np.float32)
  assert math.isclose(metrics.hole_l1(output, target, quarter_hole()), 50.0)
  filled = metrics.composite(output, target, quarter_hole())
  assert math.isclose(metrics.hole_l1(filled, target, quarter_hole()), 50.0)
  assert filled[7, 7, 0] == 0.0 and filled[0, 0, 0] == 0.5
  assert metrics.hole_l1(output, target, np.ones((8, 8, 1))) == 0.0
  # Only the hole counts; a mask value of 0.5 is hole, as in composite().
  outside = np.where(quarter_hole() > 0.5, 1.0, 0.0) * np.ones((8, 8, 3))
  assert metrics.hole_l1(outside, target, quarter_hole()) == 0.0
  half = np.ones((8, 8, 1))
  half[0, 0] = 0.5
  assert math.isclose(metrics.hole_l1(output, target, half), 50.0)


def test_psnr_by_hand_and_identical_images_are_finite():
  target = np.zeros((4, 4, 3), np.float32)
  output = np.full((4, 4, 3), 0.1, np.float32)  # MSE 0.01 -> 20 dB
  assert math.isclose(metrics.psnr(output, target), 20.0, rel_tol=1e-6)
  assert metrics.psnr(target, target) == metrics.PSNR_CAP
  # Capped at PSNR_CAP (100 dB: MSE 1e-10); just below the cap, computed.
  assert metrics.psnr(np.full((4, 4, 3), np.sqrt(5e-11)), target) == 100.0
  assert math.isclose(metrics.psnr(np.full((4, 4, 3), np.sqrt(2e-10)), target),
                      10 * np.log10(5e9), rel_tol=1e-9)


def brute_force_ssim(x, y):
  """SSIM per 11x11 window with explicit Gaussian weights, one at a time."""
  g = np.exp(-((np.arange(11) - 5.0) ** 2) / (2 * 1.5 ** 2))
  w2 = np.outer(g, g) / np.outer(g, g).sum()
  c1, c2 = 0.01 ** 2, 0.03 ** 2
  values = []
  for c in range(x.shape[2]):
    for i in range(x.shape[0] - 10):
      for j in range(x.shape[1] - 10):
        a = x[i:i + 11, j:j + 11, c].astype(np.float64)
        b = y[i:i + 11, j:j + 11, c].astype(np.float64)
        ma, mb = (w2 * a).sum(), (w2 * b).sum()
        va = (w2 * (a - ma) ** 2).sum()
        vb = (w2 * (b - mb) ** 2).sum()
        cov = (w2 * (a - ma) * (b - mb)).sum()
        values.append((2 * ma * mb + c1) * (2 * cov + c2)
                      / ((ma ** 2 + mb ** 2 + c1) * (va + vb + c2)))
  return float(np.mean(values))


def test_ssim_against_brute_force_loop():
  rng = np.random.default_rng(0)
  x = rng.random((14, 13, 3)).astype(np.float32)
  y = np.clip(x + rng.normal(0, 0.1, x.shape), 0, 1).astype(np.float32)
  assert math.isclose(metrics.ssim(x, y), brute_force_ssim(x, y), rel_tol=1e-6)
  assert math.isclose(metrics.ssim(x, x), 1.0, rel_tol=1e-9)


def test_ssim_needs_11_pixels_each_way():
  x = np.full((11, 11, 3), 0.3)
  assert math.isclose(metrics.ssim(x, x), 1.0)
  for shape in ((20, 10, 3), (10, 20, 3)):
    with pytest.raises(ValueError, match=rf"at least 11x11, got \({shape[0]}, "
                       rf"{shape[1]}\)"):
      metrics.ssim(np.zeros(shape), np.zeros(shape))


def test_ssim_of_constant_images_by_hand():
  a, b = 0.2, 0.6
  x = np.full((16, 16, 3), a)
  y = np.full((16, 16, 3), b)
  want = (2 * a * b + 0.01 ** 2) / (a * a + b * b + 0.01 ** 2)
  assert math.isclose(metrics.ssim(x, y), want, rel_tol=1e-9)


def test_gradient_energy_and_colour_shift_by_hand():
  ramp = np.zeros((4, 4, 3), np.float32)
  ramp[:, :, :] = (np.arange(4) * 0.1)[None, :, None]  # dx = 0.1, dy = 0
  mask = np.ones((4, 4, 1), np.float32)
  mask[1:3, 0:2] = 0  # 4 hole pixels, all with dx = 0.1
  assert math.isclose(metrics.gradient_energy(ramp, mask), 0.4, rel_tol=1e-6)
  # The same ramp down the rows, dy = 0.1: the same energy.
  assert math.isclose(metrics.gradient_energy(ramp.transpose(1, 0, 2),
                                              mask.transpose(1, 0, 2)), 0.4,
                      rel_tol=1e-6)
  target = np.full((4, 4, 3), 0.5, np.float32)
  output = target.copy()
  output[..., 0] += 10 / 255
  output[..., 2] -= 5 / 255
  assert math.isclose(metrics.colour_shift(output, target, mask),
                      math.hypot(10, 5), rel_tol=1e-5)
  for fn in (metrics.colour_shift, metrics.hole_l1):  # no hole: no error
    assert fn(output, target, np.ones((4, 4, 1))) == 0.0


def test_mean_fill_uses_known_pixels_only():
  image = np.zeros((4, 4, 3), np.float32)
  image[2:] = 1.0
  image[:2] = 0.5
  mask = np.ones((4, 4, 1), np.float32)
  mask[:2] = 0  # the 0.5 rows are the hole
  filled = metrics.mean_fill(image, mask)
  assert np.all(filled[:2] == 1.0) and np.all(filled[2:] == 1.0)


def test_accumulator_identical_images_have_no_inf_or_nan():
  rng = np.random.default_rng(1)
  acc = metrics.Accumulator()
  for _ in range(3):
    x = rng.random((16, 16, 3)).astype(np.float32)
    acc.add(x, x, quarter_hole(16, 16), lpips=0.0)
  s = acc.summary()
  assert s["images"] == 3
  assert all(np.isfinite(v) for v in s.values())
  assert s["hole_l1"] == 0 and s["psnr"] == metrics.PSNR_CAP
  assert math.isclose(s["ssim"], 1.0) and math.isclose(s["sharpness"], 1.0)
  blurred = metrics.Accumulator()
  x = rng.random((16, 16, 3)).astype(np.float32)
  blurred.add(metrics.mean_fill(x, quarter_hole(16, 16)), x, quarter_hole(16, 16))
  assert blurred.summary()["sharpness"] < 0.5  # a flat fill is blur


def test_checkerboard_energy_of_known_patterns():
  """A * (-1)^x, (-1)^y or (-1)^(x+y) gives A^2 per window wholly in the
  hole (hand count: a 12x10 hole holds 9x7 windows of 4x4); flat, linear and
  quadratic shading gives 0; pixels outside the hole are not read."""
  h, w = 24, 20
  y, x = np.mgrid[:h, :w].astype(np.float64)
  mask = np.ones((h, w, 1), np.float32)
  mask[6:18, 5:15] = 0
  windows = (12 - 3) * (10 - 3)
  for pattern in ((-1.0) ** x, (-1.0) ** y, (-1.0) ** (x + y)):
    image = np.repeat((0.5 + 0.1 * pattern)[..., None], 3, -1)
    assert math.isclose(metrics.checkerboard_energy(image, mask),
                        windows * 0.01, rel_tol=1e-9)
  smooth = 0.2 + 0.01 * x + 0.02 * y + 0.001 * x * y + 0.0005 * x ** 2
  image = np.repeat(smooth[..., None], 3, -1)
  assert metrics.checkerboard_energy(image, mask) < 1e-20
  noisy_outside = image.copy()
  noisy_outside[mask[..., 0] > 0.5] = np.random.default_rng(0).random(3)
  assert metrics.checkerboard_energy(noisy_outside, mask) < 1e-20
  period4 = np.repeat((0.5 + 0.1 * np.cos(np.pi * x / 2))[..., None], 3, -1)
  assert metrics.checkerboard_energy(period4, mask) < 0.1 * windows * 0.01
  # A hole narrower than a window holds no window.
  thin = np.ones((h, w, 1), np.float32)
  thin[:, 5:8] = 0
  image = np.repeat((0.5 + 0.1 * (-1.0) ** x)[..., None], 3, -1)
  assert metrics.checkerboard_energy(image, thin) == 0.0


def test_checkerboard_energy_against_a_numpy_loop():
  """Window by window, each pattern's amplitude as the modulated, binomially
  weighted sum of the window's pixels."""
  rng = np.random.default_rng(2)
  image = rng.random((9, 11, 3))
  mask = (rng.random((9, 11, 1)) > 0.15).astype(np.float32)
  mask[1:, 2:] = 0  # windows in the last rows and columns count
  grey = image.mean(-1)
  weights = np.array([1, 3, 3, 1]) / 8
  want = 0.0
  for i in range(9 - 3):
    for j in range(11 - 3):
      if np.any(mask[i:i + 4, j:j + 4] > 0.5):
        continue
      win = grey[i:i + 4, j:j + 4]
      sign = (-1.0) ** np.arange(4)
      for sy, sx in ((0, 1), (1, 0), (1, 1)):
        wy = weights * (sign if sy else 1)
        wx = weights * (sign if sx else 1)
        want += np.sum(win * np.outer(wy, wx)) ** 2
  assert want > 0
  assert math.isclose(metrics.checkerboard_energy(image, mask), want,
                      rel_tol=1e-9)


def test_checkerboard_ratio_sees_a_pattern_added_to_the_fill():
  """The dataset-level ratio: 1 for the truth itself, well above 1 once a
  period-2 pattern of 3 levels is added in the hole, below 1 for a flat
  fill."""
  rng = np.random.default_rng(3)
  y, x = np.mgrid[:32, :32]
  mask = quarter_hole(32, 32)
  truth = [np.clip(0.5 + 0.05 * rng.standard_normal((32, 32, 3)), 0, 1)
           for _ in range(3)]
  ratios = []
  for make in (lambda t: t, lambda t: np.clip(
      t + (3 / 255) * ((-1.0) ** (x + y))[..., None], 0, 1),
               lambda t: metrics.mean_fill(t, mask)):
    acc = metrics.Accumulator()
    for t in truth:
      acc.add(metrics.composite(make(t), t, mask), t, mask)
    ratios.append(acc.summary()["checkerboard"])
  assert math.isclose(ratios[0], 1.0)
  assert ratios[1] > 1.2, ratios
  assert ratios[2] < 0.01, ratios


def test_a_known_pixel_takes_out_the_16_windows_over_it():
  """A 12x12 hole holds 81 windows of 4x4; one known pixel in its middle
  leaves 65 (windows over a known pixel are not the fill's); none for an
  image without hole."""
  h, w = 20, 20
  x = np.arange(w)[None, :].repeat(h, 0)
  image = np.repeat((0.5 + 0.1 * (-1.0) ** x)[..., None], 3, -1)
  mask = np.ones((h, w, 1))
  mask[4:16, 4:16] = 0
  assert math.isclose(metrics.checkerboard_energy(image, mask), 81 * 0.01)
  mask[10, 10] = 1
  assert math.isclose(metrics.checkerboard_energy(image, mask), 65 * 0.01)
  assert metrics.checkerboard_energy(image, np.ones((h, w, 1))) == 0.0


def test_checkerboard_energy_of_images_smaller_than_a_window_is_zero():
  for shape in ((2, 10, 3), (10, 2, 3), (3, 10, 3), (10, 3, 3), (1, 1, 3)):
    image = np.random.default_rng(0).random(shape)
    assert metrics.checkerboard_energy(image, np.zeros(shape[:2] + (1,))) == 0.0
  # Exactly one window wide or high: its windows count.
  for h, w in ((10, 4), (4, 10)):
    x = np.arange(w)[None, :].repeat(h, 0)
    image = np.repeat((0.5 + 0.1 * (-1.0) ** x)[..., None], 3, -1)
    assert math.isclose(metrics.checkerboard_energy(
        image, np.zeros((h, w, 1))), (h - 3) * (w - 3) * 0.01)


def test_composite_keeps_pixels_above_one_half_only():
  image, output = np.zeros((1, 3, 3)), np.ones((1, 3, 3))
  mask = np.array([0.5, 0.51, 1.0])[None, :, None]
  np.testing.assert_array_equal(metrics.composite(output, image, mask)[0, :, 0],
                                [1.0, 0.0, 0.0])


def test_accumulator_means_are_those_of_direct_calls():
  """Each average is the mean of the metric's calls on the images; the
  ratios are of sums over the images; a truth without gradient or pattern
  gives NaN ratios, not a division by zero."""
  rng = np.random.default_rng(5)
  mask = quarter_hole(16, 16)
  pairs = [(rng.random((16, 16, 3)), rng.random((16, 16, 3))) for _ in range(3)]
  acc = metrics.Accumulator()
  for i, (out, truth) in enumerate(pairs):
    acc.add(out, truth, mask, lpips=0.1 * (i + 1))
  s = acc.summary()
  for name, fn in (("hole_l1", lambda o, t: metrics.hole_l1(o, t, mask)),
                   ("psnr", metrics.psnr), ("ssim", metrics.ssim),
                   ("colour_shift", lambda o, t: metrics.colour_shift(o, t, mask))):
    assert math.isclose(s[name], np.mean([fn(o, t) for o, t in pairs]),
                        rel_tol=1e-12), name
  assert math.isclose(s["lpips"], 0.2)
  for name, fn in (("sharpness", metrics.gradient_energy),
                   ("checkerboard", metrics.checkerboard_energy)):
    want = (sum(fn(o, mask) for o, _ in pairs)
            / sum(fn(t, mask) for _, t in pairs))
    assert math.isclose(s[name], want, rel_tol=1e-12), name
  faint = metrics.Accumulator()  # a truth whose gradient energy is below 1
  ramp = np.repeat((np.arange(16) * 0.001)[None, :, None], 16, 0).repeat(3, -1)
  faint.add(pairs[0][0], ramp, mask)
  assert 0 < metrics.gradient_energy(ramp, mask) < 1
  assert math.isclose(faint.summary()["sharpness"], metrics.gradient_energy(
      pairs[0][0], mask) / metrics.gradient_energy(ramp, mask))
  flat = metrics.Accumulator()
  flat.add(pairs[0][0], np.full((16, 16, 3), 0.5), mask, lpips=0.3)
  assert math.isclose(flat.summary()["hole_l1"], metrics.hole_l1(
      pairs[0][0], np.full((16, 16, 3), 0.5), mask))  # one image: itself
  assert math.isclose(flat.summary()["lpips"], 0.3)
  assert math.isnan(flat.summary()["sharpness"])
  assert math.isnan(flat.summary()["checkerboard"])


def test_mean_fill_of_an_all_hole_image_is_grey_and_an_empty_summary_holds():
  image = np.random.default_rng(0).random((4, 5, 3)).astype(np.float32)
  filled = metrics.mean_fill(image, np.zeros((4, 5, 1)))
  np.testing.assert_array_equal(filled, np.full((4, 5, 3), 0.5))
  empty = metrics.Accumulator().summary()
  assert empty["images"] == 0 and empty["hole_l1"] == 0.0
  assert math.isnan(empty["sharpness"]) and math.isnan(empty["checkerboard"])
