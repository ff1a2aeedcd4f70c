"""The generator and the discriminators written again in NumPy, layer by
layer from the paper's Tables 1 and 2 and Liu et al.'s definition, sharing
no code with pconvgan: the independent forward the model tests compare with.

Convolutions pad (k - 1) // 2 before each axis (PyTorch's padding) and read
windows at multiples of the stride; the partial convolution carries a mask
of as many channels as its input (Liu et al.'s multi-channel form), padding
counting as hole.
"""

import numpy as np

ENCODER = ((5, 64), (5, 128), (3, 256), (3, 256), (3, 256))
DECODER = (256, 256, 128, 64, 3)


def sigmoid(x):
  return 1.0 / (1.0 + np.exp(-x))


def windows(x, k, stride):
  """(B, H', W', k, k, C): the k x k window of every output position."""
  b, h, w, c = x.shape
  pad = (k - 1) // 2
  xp = np.zeros((b, h + k, w + k, c), np.float64)
  xp[:, pad:pad + h, pad:pad + w] = x
  out_h, out_w = -(-h // stride), -(-w // stride)
  win = np.empty((b, out_h, out_w, k, k, c), np.float64)
  for i in range(out_h):
    for j in range(out_w):
      win[:, i, j] = xp[:, i * stride:i * stride + k, j * stride:j * stride + k]
  return win


def conv(x, kernel, bias=None, stride=1):
  y = np.einsum("bijuvc,uvco->bijo", windows(x, kernel.shape[0], stride),
                np.asarray(kernel, np.float64))
  return y if bias is None else y + np.asarray(bias, np.float64)


def partial_conv(x, m, kernel, bias, stride):
  """Liu et al.: ``m`` has x's channels; returns (y, one-channel new mask)."""
  k = kernel.shape[0]
  known = windows(m, k, stride).sum(axis=(3, 4, 5))[..., None]
  y = conv(x * m, kernel, None, stride)
  y = np.where(known > 0, y * (k * k * x.shape[-1]) / np.maximum(known, 1), 0.0)
  if bias is not None:
    y = np.where(known > 0, y + np.asarray(bias, np.float64), 0.0)
  return y, (known > 0).astype(np.float64)


def batch_norm(x, bn, stats, train, eps):
  if train:
    mean, var = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))
  else:
    mean, var = np.asarray(stats["mean"]), np.asarray(stats["var"])
  return ((x - mean) / np.sqrt(var + eps) * np.asarray(bn["scale"])
          + np.asarray(bn["bias"]))


def upsample(x):
  return np.repeat(np.repeat(x, 2, axis=1), 2, axis=2)


def leaky_relu(x, slope=0.2):
  return np.where(x >= 0, x, slope * x)


def generator(variables, image, mask, train=False, partial=True, eps=1e-5):
  """Table 1's U-Net on (B, H, W, 3) images and (B, H, W, 1) masks (1 =
  known); batch norm from running statistics, or the batch's (``train``)."""
  params = variables["params"]
  stats = variables.get("batch_stats", {})
  image = np.asarray(image, np.float64)
  mask = (np.asarray(mask) > 0.5).astype(np.float64)
  if partial:
    x = image * mask
  else:  # ablation (d): holes hold the known pixels' mean colour
    mean = (image * mask).sum(axis=(1, 2), keepdims=True) / np.maximum(
        mask.sum(axis=(1, 2), keepdims=True), 1)
    x = np.where(mask > 0, image, mean)

  def layer(name, h, m, stride, activation):
    p = params[name]
    kernel, bias = np.asarray(p["conv"]["kernel"]), p["conv"].get("bias")
    if partial:
      h, m1 = partial_conv(h, m, kernel, bias, stride)
    else:
      h = conv(h, kernel, bias, stride)
      m1 = m[:, ::stride, ::stride, :1]
    if "bn" in p:
      h = batch_norm(h, p["bn"], stats[name], train, eps)
    return activation(h), m1

  relu = lambda z: np.maximum(z, 0)
  skips = [(x, mask)]
  h, m = x, mask
  for i in range(len(ENCODER)):
    h, m = layer(f"enc{i + 1}", h, np.broadcast_to(m[..., :1], h.shape), 2,
                 relu)
    skips.append((h, m))
  skips.pop()
  for i in range(len(DECODER)):
    skip_h, skip_m = skips.pop()
    up_h, up_m = upsample(h), upsample(m)
    h = np.concatenate([up_h, skip_h], -1)
    m = np.concatenate([np.broadcast_to(up_m, up_h.shape),
                        np.broadcast_to(skip_m, skip_h.shape)], -1)
    h, m = layer(f"dec{i + 1}", h, m, 1, leaky_relu)
  out, _ = layer("out", h, np.broadcast_to(m, h.shape), 1, sigmoid)
  return out


def discriminator(params, images):
  """Table 2: global and local (left third, right two thirds) networks,
  their fully connected features concatenated, one logit per image."""
  images = np.asarray(images, np.float64)
  cut = images.shape[2] // 3
  crops = {"global": images, "local_left": images[:, :, :cut],
           "local_right": images[:, :, cut:]}
  features = []
  for name in ("global", "local_left", "local_right"):
    if name not in params:
      continue
    h = crops[name]
    for p in params[name]["convs"]:
      h = np.maximum(conv(h, np.asarray(p["kernel"]), p["bias"], 2), 0)
    h = h.reshape(h.shape[0], -1)
    fc = params[name]["fc"]
    features.append(np.maximum(
        h @ np.asarray(fc["kernel"], np.float64) + np.asarray(fc["bias"]), 0))
  comb = params["combiner"]
  return (np.concatenate(features, -1) @ np.asarray(comb["kernel"], np.float64)
          + np.asarray(comb["bias"]))[:, 0]
