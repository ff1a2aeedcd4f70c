"""Flax linen modules of the generator and the discriminators.

Their variables are exactly pconvgan's pytrees, so weights move freely
between the two interfaces (``pconvgan.pretrained()`` works as
``Generator.apply``'s variables, and ``Generator.init``'s as
``pconvgan.apply``'s)::

    model = pconvgan.linen.Generator(config)
    variables = model.init(jax.random.key(0), image, mask)
    output = model.apply(variables, image, mask)
    output, updates = model.apply(variables, image, mask, train=True,
                                  mutable=["batch_stats"])

Linen rather than NNX because its variables are plain nested dicts of
arrays, the form pconvgan's functions, checkpoints and weights files use;
NNX users wrap these modules with ``flax.nnx.bridge.ToNNX``. The layers stay
pconvgan's pure functions: each module holds one Flax variable per layer of
the pure model, initialised by ``pconvgan.init`` / ``init_discriminator``.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax

from pconvgan import checks
from pconvgan import discriminator
from pconvgan import generator


def _declare(module: nn.Module, init_fn, collections: tuple[str, ...]):
  """One Flax variable per top-level entry of ``init_fn(rng)`` (a dict of
  collections for the generator, a flat dict for the discriminators). Each
  parameter is drawn from ``init_fn`` with its own key (independent layers,
  as in ``init_fn``); the other collections hold no randomness."""
  nested = len(collections) > 1
  shapes = jax.eval_shape(init_fn, jax.random.key(0))
  declared = {}
  for collection in collections:
    def part(tree, c=collection):
      return tree[c] if nested else tree
    declared[collection] = {}
    for name in part(shapes):
      if collection == "params":
        declared[collection][name] = module.param(
            name, lambda key, n=name, p=part: p(init_fn(key))[n])
      else:
        declared[collection][name] = module.variable(
            collection, name,
            lambda n=name, p=part: p(init_fn(jax.random.key(0)))[n])
  return declared


class Generator(nn.Module):
  """The partial-convolution U-Net; ``__call__`` is ``pconvgan.apply``.

  ``train=True`` normalises with batch statistics and updates the running
  averages in the 'batch_stats' collection (pass ``mutable=['batch_stats']``).
  """
  config: Any = None

  @nn.compact
  def __call__(self, image: jax.Array, mask: jax.Array, train: bool = False):
    cfg = checks.as_config(generator.GeneratorConfig, self.config)
    declared = _declare(self, lambda key: generator.init_generator(key, cfg),
                        ("params", "batch_stats"))
    stats = declared["batch_stats"]
    variables = {"params": declared["params"],
                 "batch_stats": {n: v.value for n, v in stats.items()}}
    if not train:
      return generator.apply_generator(variables, image, mask, config=cfg)
    out, new_stats = generator.apply_generator(variables, image, mask,
                                               train=True, config=cfg)
    if not self.is_initializing():
      for name, value in new_stats.items():
        stats[name].value = value
    return out


class Discriminator(nn.Module):
  """The global (and local) discriminators; ``__call__`` is
  ``pconvgan.apply_discriminator``: one real/inpainted logit per image.
  ``image_size`` (H, W) fixes the shape of the fully connected layers."""
  image_size: tuple[int, int] = (128, 128)
  config: Any = None

  @nn.compact
  def __call__(self, images: jax.Array) -> jax.Array:
    size = tuple(self.image_size)
    declared = _declare(
        self, lambda key: discriminator.init_discriminator(key, size,
                                                           self.config),
        ("params",))
    return discriminator.apply_discriminator(declared["params"], images)
