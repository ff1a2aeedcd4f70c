"""The generator of the paper's Table 1: a U-Net of partial convolutions.

Encoder (ReLU):  PConv K5 S2 -> 64, K5 S2 -> 128, K3 S2 -> 256 (three times).
Decoder (leaky ReLU 0.2): five times nearest 2x upsampling of features and
mask, concatenation with the matching encoder output (for the last decoder
layer, the input image and its mask) and PConv K3 S1 -> 256, 256, 128, 64, 3.
Output: PConv K1 S1 -> 3 with a sigmoid.

Optionally (``refine`` > 0, not in the paper) a full-resolution refinement
head corrects the output's logits before the sigmoid: three ordinary 3x3
convolutions (ReLU) of the output, the masked image and the mask itself, the
last one initialised to zero so that a trained generator gains the head
without changing its output. The paper's decoder reaches full resolution
only through its last 3-channel layer, fed by nearest-upsampled features
that cannot tell pixels of a 2x2 block apart; the head sees the hole's exact
border.

Batch norm follows every layer except the first encoder layer (as in pix2pix
and Liu et al., so that the statistics are not those of the raw masked image)
and the 1x1 output layer (whose sigmoid maps straight to pixel values). Those
two layers keep a bias; layers followed by batch norm have none, since batch
norm's own bias replaces it.
"""

from __future__ import annotations

import dataclasses
import functools
import warnings
from typing import Any, Mapping

import jax
import jax.numpy as jnp
from jax import lax
import numpy as np

from pconvgan import checks
from pconvgan import conv
from pconvgan import dihedral
from pconvgan import layers

# (kernel size, filters) of the stride-2 encoder layers.
ENCODER = ((5, 64), (5, 128), (3, 256), (3, 256), (3, 256))
# Filters of the stride-1, 3x3 decoder layers.
DECODER = (256, 256, 128, 64, 3)
OUT_CHANNELS = 3


@dataclasses.dataclass(frozen=True)
class GeneratorConfig:
  """Generator hyperparameters (config section ``model``).

  With ``partial=False`` (the paper's ablation (d)) the holes are filled
  with the known pixels' mean colour, the paper's "average pixel value".
  """
  width: float = 1.0  # multiplier on the filters (not the 3-channel outputs)
  partial: bool = True  # False: ordinary convolutions (ablation d)
  bn_momentum: float = 0.9  # weight of old running statistics
  bn_eps: float = 1e-5  # added to batch-norm variances
  refine: int = 0  # channels of the full-resolution refinement head (0: none, the paper's)

  def __post_init__(self):
    if not self.width > 0:
      raise ValueError(f"GeneratorConfig.width must be > 0, got {self.width}")
    if not 0.0 <= self.bn_momentum < 1.0:
      raise ValueError(
          f"GeneratorConfig.bn_momentum must be in [0, 1), got {self.bn_momentum}")
    if not self.bn_eps > 0:
      raise ValueError(f"GeneratorConfig.bn_eps must be > 0, got {self.bn_eps}")
    if self.refine < 0:
      raise ValueError(f"GeneratorConfig.refine must be >= 0, got {self.refine}")


def _filters(channels: int, width: float) -> int:
  return max(1, int(round(channels * width)))


# Layers of the refinement head (GeneratorConfig.refine > 0), in order.
REFINE = ("refine1", "refine2", "refine3")
# Its input channels: the output, the masked image and the mask.
REFINE_INPUTS = 7


def layer_names(config: Any = None) -> list[str]:
  """The generator's layers in order (with ``config``'s refinement head)."""
  cfg = checks.as_config(GeneratorConfig, config)
  return ([f"enc{i + 1}" for i in range(len(ENCODER))]
          + [f"dec{i + 1}" for i in range(len(DECODER))] + ["out"]
          + (list(REFINE) if cfg.refine else []))


def _has_bn(name: str) -> bool:
  return name not in ("enc1", "out")


def init_generator(key: jax.Array, config: Any = None) -> dict:
  """Fresh generator variables: ``{'params': ..., 'batch_stats': ...}``."""
  checks.check_key(key)
  return _init_generator(key, checks.as_config(GeneratorConfig, config))


@functools.partial(jax.jit, static_argnums=1)
def _init_generator(key: jax.Array, cfg: GeneratorConfig) -> dict:
  enc = [_filters(c, cfg.width) for _, c in ENCODER]
  dec = [_filters(c, cfg.width) for c in DECODER[:-1]] + [DECODER[-1]]
  skips = enc[-2::-1] + [3]  # channels concatenated at each decoder layer
  specs = []  # (kernel size, in, out)
  c_in = 3
  for (k, _), c in zip(ENCODER, enc):
    specs.append((k, c_in, c))
    c_in = c
  for skip, c in zip(skips, dec):
    specs.append((3, c_in + skip, c))
    c_in = c
  specs.append((1, c_in, OUT_CHANNELS))

  params, stats = {}, {}
  keys = jax.random.split(key, len(specs))
  for name, k, (size, c_in, c_out) in zip(layer_names(), keys, specs):
    params[name] = {"conv": layers.init_conv(k, size, c_in, c_out,
                                             bias=not _has_bn(name))}
    if _has_bn(name):
      params[name]["bn"], stats[name] = layers.init_batch_norm(c_out)
  if cfg.refine:
    params.update(init_refine(jax.random.fold_in(key, len(specs)), cfg.refine))
  return {"params": params, "batch_stats": stats}


def init_refine(key: jax.Array, channels: int) -> dict:
  """Fresh parameters of the refinement head; its last layer is zero, so
  the head adds nothing until trained."""
  k1, k2 = jax.random.split(key)
  last = {"kernel": jnp.zeros((3, 3, channels, OUT_CHANNELS), jnp.float32),
          "bias": jnp.zeros((OUT_CHANNELS,), jnp.float32)}
  return {"refine1": {"conv": layers.init_conv(k1, 3, REFINE_INPUTS, channels)},
          "refine2": {"conv": layers.init_conv(k2, 3, channels, channels)},
          "refine3": {"conv": last}}


def refine_logits(params: dict, logits: jax.Array, image: jax.Array,
                  mask: jax.Array) -> jax.Array:
  """The refinement head: ``logits`` (pre-sigmoid output) corrected from
  the output, ``image`` (hole pixels zero) and ``mask``."""
  h = jnp.concatenate([jax.nn.sigmoid(logits), image, mask], -1)
  for name in REFINE[:-1]:
    h = jax.nn.relu(layers.conv(h, params[name]["conv"]["kernel"],
                                params[name]["conv"]["bias"]))
  last = params[REFINE[-1]]["conv"]
  return logits + layers.conv(h, last["kernel"], last["bias"])


def _plain_layer(xs, masks, kernel, bias, stride, upsample_first):
  """An ordinary convolution (ablation d) of one input, or of the decoder's
  upsampled input and skip: no mask is read, and none is passed on."""
  del masks
  if upsample_first:
    low, skip = xs
    return layers.upsampled_concat_conv(low, skip, kernel, bias), None
  (x,) = xs
  return layers.conv(x, kernel, bias, stride), None


def _check_variables(variables: Any, cfg: GeneratorConfig) -> None:
  if not isinstance(variables, Mapping) or "params" not in variables:
    raise ValueError(
        "variables must be the dict returned by pconvgan.init (keys 'params' "
        f"and 'batch_stats'), got {type(variables).__name__}"
        + (f" with keys {sorted(variables)}" if isinstance(variables, Mapping)
           else ""))
  missing = [n for n in layer_names(cfg) if n not in variables["params"]]
  if missing:
    raise ValueError(f"generator variables lack the layers {missing}")
  extra = [n for n in REFINE if n in variables["params"] and not cfg.refine]
  if extra:
    raise ValueError(f"generator variables hold the refinement head {extra} "
                     "but the config has refine=0; pass the config that came "
                     "with them (variables, config = pconvgan.pretrained() "
                     "or pconvgan.weights.load(path)[:2]) as config=config")


def apply_generator(variables: dict, image: jax.Array, mask: jax.Array, *,
                    train: bool = False, config: Any = None, ensemble: int = 1):
  """Runs the generator.

  image: float (B, H, W, 3) or (H, W, 3) in [0, 1], H and W multiples of 32;
  the hole pixels' values are ignored. mask: (…, H, W, 1), 1 = known pixel,
  0 = hole (binarised at 0.5). Returns the output image in [0, 1]; with
  ``train=True``, ``(output, new_batch_stats)``: batch statistics are used
  and the running averages updated. ``ensemble`` (1, 2, 4 or 8): the output
  averaged over that many flips and transpositions of image and mask (a
  self-ensemble: that many times the work, smaller errors, smoother fills).
  """
  cfg = checks.as_config(GeneratorConfig, config)
  _check_variables(variables, cfg)
  checks.check_image(image)
  checks.check_mask(mask, image)
  checks.check_range(image, mask)
  dihedral.check_count(ensemble)
  if train and ensemble != 1:
    raise ValueError("train=True runs one pass: ensemble must be 1, got "
                     f"{ensemble}")
  return _apply_generator(variables, image, mask, train, cfg, ensemble,
                          layers.cpu_forms_traced())


@functools.partial(jax.jit, static_argnums=(3, 4, 5, 6))
def _apply_generator(variables, image, mask, train: bool, cfg: GeneratorConfig,
                     ensemble: int, cpu_forms: bool):
  del cpu_forms  # the cache key of layers.cpu_forms_traced
  if ensemble == 1:
    return forward(variables, image, mask, train, cfg)
  return dihedral.average(lambda x, m: forward(variables, x, m, False, cfg),
                          image, mask, ensemble)


def forward(variables: dict, image: jax.Array, mask: jax.Array, train: bool,
            cfg: GeneratorConfig):
  """apply_generator's computation, unchecked and unjitted: for tracing
  inside other programs (the training steps, the exported program)."""
  image, unbatched = checks.as_batch(image)
  mask, _ = checks.as_batch(mask)
  image = image.astype(jnp.float32)
  mask = (mask > 0.5).astype(jnp.float32)

  params, stats = variables["params"], variables.get("batch_stats", {})
  new_stats = {}
  if cfg.partial:
    layer, x = layers.partial_conv_grouped, jnp.where(mask > 0, image, 0.0)
  else:
    known = jnp.maximum(jnp.sum(mask, axis=(1, 2), keepdims=True), 1.0)
    # where, not image * mask: NaN or Inf under a hole must not leak in.
    mean = jnp.sum(jnp.where(mask > 0, image, 0.0), axis=(1, 2),
                   keepdims=True) / known
    layer, x = _plain_layer, jnp.where(mask > 0, image, mean)

  def block(name, xs, masks, stride, activation, upsample_first=False):
    p = params[name]
    h, m = layer(xs, masks, p["conv"]["kernel"], p["conv"].get("bias"), stride,
                 upsample_first=upsample_first)
    if "bn" in p:
      h, new_stats[name] = layers.batch_norm(
          h, p["bn"], stats[name], train=train, momentum=cfg.bn_momentum,
          eps=cfg.bn_eps)
    return activation(h), m

  skips = [(x, mask)]
  h, m = x, mask
  for i in range(len(ENCODER)):
    h, m = block(f"enc{i + 1}", [h], [m], 2, jax.nn.relu)
    skips.append((h, m))
  skips.pop()  # the bottleneck is not a skip
  for i in range(len(DECODER)):
    skip_h, skip_m = skips.pop()
    # h and m are upsampled 2x (nearest) inside the layer, at no extra cost.
    h, m = block(f"dec{i + 1}", [h, skip_h], [m, skip_m], 1, layers.leaky_relu,
                 upsample_first=True)
  if cfg.refine:
    logits, _ = block("out", [h], [m], 1, lambda z: z)
    out = jax.nn.sigmoid(refine_logits(params, logits,
                                       jnp.where(mask > 0, image, 0.0), mask))
  else:
    out, _ = block("out", [h], [m], 1, jax.nn.sigmoid)

  if unbatched:
    out = jnp.squeeze(out, 0)
  return (out, new_stats) if train else out


class UnreachedHoleWarning(UserWarning):
  """Some hole pixels lie beyond what one pass of the network reaches."""


def inpaint(variables: dict, image: jax.Array, mask: jax.Array, *,
            config: Any = None, ensemble: int = 1) -> jax.Array:
  """The composite: known pixels of ``image`` exactly, generated ones in
  holes (``ensemble``: see apply_generator).

  One pass of the network: a hole pixel farther from every known pixel than
  the U-Net reaches (``reached``) gets a constant, not a fill. A concrete
  mask is checked and that is warned of (UnreachedHoleWarning): at each
  call outside jax.jit, and when jax.jit traces a function that holds the
  mask as a constant (once per compilation); ``pconvgan.inpaint_image``
  fills holes of any size. So is a hole over most of an image
  (MaskCoverageWarning: an inverted mask?)."""
  out = composite(apply_generator(variables, image, mask, config=config,
                                  ensemble=ensemble), image, mask)
  if not isinstance(mask, jax.core.Tracer):
    # Also a concrete mask held by a function that a user's jit traces.
    with jax.ensure_compile_time_eval():
      _warn_of_holes(mask)
  return out


def _warn_of_holes(mask) -> None:
  """inpaint's warnings of a concrete ``mask``: mostly hole, or hole pixels
  beyond one pass's reach."""
  known = jnp.asarray(mask) > 0.5
  images = known.reshape(-1, *known.shape[-3:])
  worst = ~np.asarray(images[jnp.argmin(jnp.mean(images, axis=(1, 2, 3)))])
  coverage = checks.coverage_warning(worst, "(mask: 1 = known pixel, "
                                     "0 = hole)")
  if coverage:
    warnings.warn(f"the hole {coverage}", checks.MaskCoverageWarning,
                  stacklevel=3)
  unreached = int(jnp.sum(~known & (reached(jnp.asarray(mask)) < 0.5)))
  if unreached:
    warnings.warn(
        f"{unreached} hole pixels are beyond the reach of one pass of the "
        "network and get a constant instead of a fill; "
        "pconvgan.inpaint_image fills holes of any size",
        UnreachedHoleWarning, stacklevel=3)


def composite(output: jax.Array, image: jax.Array, mask: jax.Array
              ) -> jax.Array:
  """Known pixels (mask > 0.5) of ``image``, ``output`` in the holes; what is
  under a hole (even NaN) never reaches the result."""
  return jnp.where(mask > 0.5, jnp.asarray(image).astype(output.dtype), output)


def count_params(tree: Any) -> int:
  """Number of scalars in a pytree of arrays."""
  return sum(int(x.size) for x in jax.tree_util.tree_leaves(tree))


def reached(mask: jax.Array) -> jax.Array:
  """Where the generator's output depends on at least one known pixel.

  mask: (B, H, W, 1) or (H, W, 1), 1 = known. Returns a mask of the same
  shape: 1 where the partial convolutions' mask updates (Liu et al.: a window
  with any known pixel is known afterwards; padding counts as hole) reach the
  output, 0 where the output is a constant (sigmoid(0) = 0.5 without the
  refinement head) because no known pixel is within the U-Net's reach.
  """
  m, unbatched = checks.as_batch(jnp.asarray(mask))
  m = (m > 0.5).astype(jnp.float32)

  def window_any(x, k, stride):
    pads = [(0, 0)] + [conv.same_padding(n, k, stride) for n in x.shape[1:3]]
    return lax.reduce_window(x, 0.0, lax.max, (1, k, k, 1),
                             (1, stride, stride, 1), pads + [(0, 0)])

  skips = [m]
  for k, _ in ENCODER:
    m = window_any(m, k, 2)
    skips.append(m)
  skips.pop()
  for _ in DECODER:
    m = jnp.maximum(layers.upsample_nearest(m), skips.pop())
    m = window_any(m, 3, 1)
  return jnp.squeeze(m, 0) if unbatched else m
