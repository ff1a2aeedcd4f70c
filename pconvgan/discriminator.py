"""The discriminators of the paper's Table 2 and their combiner.

- global: the whole image; conv K5 S2 -> 32, 64, 64, 128, 128 (ReLU), then a
  fully connected layer with ReLU;
- local left: the left third of the image (columns [0, W // 3)), which holds
  the paper's first hole; local right: the remaining two thirds. Each is
  conv K5 S2 -> 32, 64, 64, 128 (ReLU), then a fully connected layer with ReLU.
  The two are separate networks (the paper's text), not one shared network;
- combiner: one fully connected unit over the concatenated features, giving
  one logit per image (the paper's sigmoid is left to the losses, which work
  on logits).

The paper leaves the fully connected width open; we use 512, as the authors'
code did (``fc_features``). The discriminators have no batch norm: they hold
parameters only, so the discriminator step has no state beside them.
Because the fully connected layers flatten the feature maps, discriminators
are made for one image size, given to ``init_discriminator``.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import jax
import jax.numpy as jnp

from pconvgan import checks
from pconvgan import layers

GLOBAL = (32, 64, 64, 128, 128)
LOCAL = (32, 64, 64, 128)
KERNEL_SIZE = 5


@dataclasses.dataclass(frozen=True)
class DiscriminatorConfig:
  """Discriminator hyperparameters (config section ``discriminator``)."""
  width: float = 1.0  # multiplier on every convolution's filters
  fc_features: int = 512  # fully connected width (paper: open)
  local: bool = True  # False: global discriminator only (ablation c)

  def __post_init__(self):
    if not self.width > 0:
      raise ValueError(f"DiscriminatorConfig.width must be > 0, got {self.width}")
    if self.fc_features < 1:
      raise ValueError(
          f"DiscriminatorConfig.fc_features must be >= 1, got {self.fc_features}")


def split_columns(width: int) -> int:
  """Column where the left third ends and the right two thirds begin."""
  return width // 3


def _regions(height: int, width: int, local: bool) -> dict:
  """Name -> ((height, width) of the region, filters of its convolutions)."""
  regions = {"global": ((height, width), GLOBAL)}
  if local:
    cut = split_columns(width)
    regions["local_left"] = ((height, cut), LOCAL)
    regions["local_right"] = ((height, width - cut), LOCAL)
  return regions


def _crop(images: jax.Array, name: str) -> jax.Array:
  cut = split_columns(images.shape[2])
  if name == "local_left":
    return images[:, :, :cut]
  if name == "local_right":
    return images[:, :, cut:]
  return images


def init_discriminator(key: jax.Array, image_size: tuple[int, int] = (128, 128),
                       config: Any = None) -> dict:
  """Fresh discriminator parameters for images of ``image_size`` (H, W)."""
  checks.check_key(key)
  cfg = checks.as_config(DiscriminatorConfig, config)
  return _init_discriminator(key, tuple(image_size), cfg)


@functools.partial(jax.jit, static_argnums=(1, 2))
def _init_discriminator(key, image_size: tuple[int, int],
                        cfg: DiscriminatorConfig) -> dict:
  height, width = image_size
  if height % checks.MULTIPLE or width % checks.MULTIPLE:
    raise ValueError(
        f"image_size must be multiples of {checks.MULTIPLE}, got {image_size}")
  regions = _regions(height, width, cfg.local)
  keys = jax.random.split(key, len(regions) + 1)
  params = {}
  for k, (name, ((h, w), filters)) in zip(keys, regions.items()):
    conv_keys = jax.random.split(k, len(filters) + 1)
    convs, c_in = [], 3
    for ck, f in zip(conv_keys, filters):
      c_out = max(1, int(round(f * cfg.width)))
      convs.append(layers.init_conv(ck, KERNEL_SIZE, c_in, c_out))
      c_in = c_out
      h, w = -(-h // 2), -(-w // 2)
    params[name] = {"convs": convs, "fc": layers.init_dense(
        conv_keys[-1], h * w * c_in, cfg.fc_features)}
  params["combiner"] = layers.init_dense(
      keys[-1], cfg.fc_features * len(regions), 1)
  return params


def _features(params: dict, images: jax.Array) -> jax.Array:
  h = images
  for p in params["convs"]:
    h = jax.nn.relu(layers.conv(h, p["kernel"], p["bias"], stride=2))
  h = h.reshape(h.shape[0], -1)
  want = params["fc"]["kernel"].shape[0]
  if h.shape[1] != want:
    raise ValueError(
        f"these discriminator parameters were made for another image size: "
        f"the input {images.shape} flattens to {h.shape[1]} features, the "
        f"fully connected layer takes {want}; init_discriminator with this "
        f"image_size")
  return jax.nn.relu(layers.dense(h, params["fc"]))


def apply_discriminator(params: dict, images: jax.Array) -> jax.Array:
  """One real/inpainted logit per image: (B,) for (B, H, W, 3), () for (H, W, 3).

  Whether the local discriminators are used follows from ``params``.
  """
  checks.check_image(images, name="images")
  return _apply_discriminator(params, images, layers.cpu_forms_traced())


@functools.partial(jax.jit, static_argnums=2)
def _apply_discriminator(params: dict, images: jax.Array,
                         cpu_forms: bool) -> jax.Array:
  del cpu_forms  # the cache key of layers.cpu_forms_traced
  return forward(params, images)


def forward(params: dict, images: jax.Array) -> jax.Array:
  """apply_discriminator's computation, unjitted: for tracing inside other
  programs (the training steps)."""
  images, unbatched = checks.as_batch(images)
  images = images.astype(jnp.float32)
  names = [n for n in ("global", "local_left", "local_right") if n in params]
  if "global" not in names or "combiner" not in params:
    raise ValueError(
        "params must be the dict returned by pconvgan.init_discriminator, got "
        f"keys {sorted(params) if hasattr(params, 'keys') else type(params)}")
  features = jnp.concatenate(
      [_features(params[n], _crop(images, n)) for n in names], axis=-1)
  logits = layers.dense(features, params["combiner"])[:, 0]
  return logits[0] if unbatched else logits
