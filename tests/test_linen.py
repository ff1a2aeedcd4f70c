"""pconvgan.linen: Flax modules whose variables are pconvgan's pytrees, with
the same numbers as the pure functions; NNX through Flax's bridge; the
fine-tuning example."""

import importlib.util
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import pconvgan
from pconvgan import linen
from pconvgan import weights

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CFG = pconvgan.GeneratorConfig(width=0.125)
D_CFG = {"width": 0.125, "fc_features": 8}


def batch(size=64):
  image = jax.random.uniform(jax.random.key(1), (2, size, size, 3))
  mask = jnp.ones((2, size, size, 1)).at[:, 10:30, 8:40].set(0)
  return image, mask


def close(a, b):
  return all(np.allclose(x, y, atol=1e-6) for x, y in
             zip(jax.tree.leaves(a), jax.tree.leaves(b)))


def test_generator_variables_are_pconvgans_pytree():
  image, mask = batch()
  variables = linen.Generator(CFG).init(jax.random.key(0), image, mask)
  pure = pconvgan.init(jax.random.key(0), CFG)
  assert jax.tree.structure(variables) == jax.tree.structure(pure)
  assert jax.tree.map(np.shape, variables) == jax.tree.map(np.shape, pure)
  # The batch statistics start as pconvgan's; the layers differ in their draws.
  assert close(variables["batch_stats"], pure["batch_stats"])
  kernels = [variables["params"][n]["conv"]["kernel"] for n in ("enc1", "enc2")]
  assert all(np.std(k) > 0 for k in kernels)


def test_generator_gives_the_pure_functions_numbers():
  image, mask = batch()
  model = linen.Generator(CFG)
  variables, config = pconvgan.init(jax.random.key(3), CFG), CFG
  variables = jax.tree.map(lambda x: x + 0.05, variables)  # non-trivial stats
  np.testing.assert_array_equal(
      model.apply(variables, image, mask),
      pconvgan.apply(variables, image, mask, config=config))
  out, updates = model.apply(variables, image, mask, train=True,
                             mutable=["batch_stats"])
  want, want_stats = pconvgan.apply(variables, image, mask, train=True,
                                    config=config)
  np.testing.assert_array_equal(out, want)
  assert set(updates) == {"batch_stats"}
  assert close(updates["batch_stats"], want_stats)
  assert not close(updates["batch_stats"], variables["batch_stats"])

  def loss(params, fn):
    return jnp.mean(fn({"params": params,
                        "batch_stats": variables["batch_stats"]}) ** 2)
  g_linen = jax.grad(loss)(variables["params"],
                           lambda v: model.apply(v, image, mask))
  g_pure = jax.grad(loss)(variables["params"],
                          lambda v: pconvgan.apply(v, image, mask, config=CFG))
  assert close(g_linen, g_pure)


def test_shipped_weights_run_in_the_module():
  variables, config = pconvgan.pretrained()
  image, mask = batch(32)
  np.testing.assert_allclose(
      linen.Generator(config).apply(variables, image, mask),
      pconvgan.apply(variables, image, mask, config=config), atol=1e-6)


def test_discriminator_gives_the_pure_functions_numbers():
  image, _ = batch()
  model = linen.Discriminator((64, 64), D_CFG)
  variables = model.init(jax.random.key(0), image)
  pure = pconvgan.init_discriminator(jax.random.key(0), (64, 64), D_CFG)
  assert set(variables) == {"params"}
  assert jax.tree.map(np.shape, variables["params"]) == jax.tree.map(np.shape, pure)
  np.testing.assert_array_equal(model.apply({"params": pure}, image),
                                pconvgan.apply_discriminator(pure, image))


def test_nnx_users_get_the_same_numbers_through_the_bridge():
  image, mask = batch()
  nnx_model = nnx.bridge.ToNNX(linen.Generator(CFG), rngs=nnx.Rngs(0))
  nnx.bridge.lazy_init(nnx_model, image, mask)
  variables = {"params": nnx.to_pure_dict(nnx.state(nnx_model, nnx.Param)),
               "batch_stats": nnx.to_pure_dict(nnx.state(nnx_model,
                                                         nnx.BatchStat))}
  np.testing.assert_array_equal(
      nnx_model(image, mask), pconvgan.apply(variables, image, mask, config=CFG))


@pytest.mark.slow
def test_fine_tuning_example_trains_the_shipped_generator(tmp_path):
  spec = importlib.util.spec_from_file_location(
      "finetune_linen", os.path.join(ROOT, "examples", "finetune_linen.py"))
  example = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(example)
  out = str(tmp_path / "mine.msgpack")
  state = example.main(["--steps", "2", "--batch_size", "2", "--size", "64",
                        "--out", out])
  shipped, _ = pconvgan.pretrained()
  # What it trained is saved, loadable as a weights file.
  saved, _, _ = weights.load(out)
  assert close(saved["params"], state.params)
  assert close(saved["batch_stats"], state.batch_stats)
  assert int(state.step) == 2
  assert not close(state.params, shipped["params"])
  assert not close(state.batch_stats, shipped["batch_stats"])
  assert jax.tree.structure(state.params) == jax.tree.structure(shipped["params"])
