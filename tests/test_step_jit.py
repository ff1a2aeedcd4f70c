"""pconvgan.training_jit: a user's own gradient step through the public API,
built with the CPU forms on CPU and as jax.jit elsewhere, same values."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import pconvgan
from pconvgan import cpu_training
from pconvgan import step_jit

SIZE = 32


def user_step():
  """What a user's training loop runs: SGD on an L1 of pconvgan.apply
  (train=True) plus a discriminator term, under jax.value_and_grad."""
  tx = optax.sgd(0.1)

  def step(params, stats, d_params, opt_state, image, mask):
    def loss_fn(p):
      out, new_stats = pconvgan.apply({"params": p, "batch_stats": stats},
                                      image, mask, train=True)
      logits = pconvgan.apply_discriminator(d_params, out)
      return jnp.mean(jnp.abs(out - image)) - 0.01 * jnp.mean(logits), \
          new_stats
    (loss, new_stats), grads = jax.value_and_grad(loss_fn, has_aux=True)(
        params)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), new_stats, opt_state, loss
  return step, tx


def user_args(tx):
  key = jax.random.key(3)
  variables = pconvgan.init(key, {"width": 0.125})
  d_params = pconvgan.init_discriminator(key, (SIZE, SIZE), {"width": 0.125})
  # Batch 4: with 2 images the deepest layer's batch norm (1x1) sees two
  # values per channel, its input gradient is zero up to rounding, and the
  # two forms' rounding differs by more than a tolerance can state.
  image = jax.random.uniform(jax.random.key(4), (4, SIZE, SIZE, 3))
  mask = jnp.ones((4, SIZE, SIZE, 1)).at[:, 8:20, 4:24].set(0.0)
  return (variables["params"], variables["batch_stats"], d_params,
          tx.init(variables["params"]), image, mask)


def test_on_cpu_the_step_takes_the_cpu_forms_and_gives_jax_jits_values():
  step, tx = user_step()
  args = user_args(tx)
  fast = pconvgan.training_jit(step, platform="cpu")
  # In either order: apply's own jit must not hand one a program traced for
  # the other (its cache key includes the forms).
  counts = [convolutions(fn, args)
            for fn in (jax.jit(step), fast, jax.jit(step), fast)]
  assert counts[0] == counts[2] < counts[1] == counts[3]
  want = jax.jit(step)(*args)
  got = fast(*args)
  np.testing.assert_allclose(got[-1], want[-1], rtol=1e-5)  # the loss
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4,
                                                       atol=1e-6), got, want)
  assert not np.allclose(got[0]["enc1"]["conv"]["kernel"],
                         args[0]["enc1"]["conv"]["kernel"])


def convolutions(fn, args) -> int:
  """Convolutions in the program ``fn`` traces: the CPU forms' input
  gradients of strided convolutions take several each."""
  return str(fn.trace(*args).jaxpr).count("conv_general_dilated")


def test_the_discriminators_jit_keeps_the_forms_apart_too():
  image = jax.random.uniform(jax.random.key(5), (4, SIZE, SIZE, 3))
  d_params = pconvgan.init_discriminator(jax.random.key(6), (SIZE, SIZE),
                                         {"width": 0.125})

  def step(d_params, image):  # the gradient reaches the image, as in a G step
    return jax.grad(lambda x: jnp.mean(
        pconvgan.apply_discriminator(d_params, x)))(image)
  fast = pconvgan.training_jit(step, platform="cpu")
  counts = [convolutions(fn, (d_params, image))
            for fn in (jax.jit(step), fast, jax.jit(step), fast)]
  assert counts[0] == counts[2] < counts[1] == counts[3]
  np.testing.assert_allclose(fast(d_params, image),
                             jax.jit(step)(d_params, image), rtol=1e-4,
                             atol=1e-7)


def test_the_default_platform_is_jaxs_default_backend(monkeypatch):
  seen = []

  def probe(x):
    seen.append(cpu_training.enabled())
    return x + 1
  monkeypatch.setattr(step_jit.jax, "default_backend", lambda: "gpu")
  pconvgan.training_jit(probe)(jnp.zeros(2))
  monkeypatch.setattr(step_jit.jax, "default_backend", lambda: "cpu")
  pconvgan.training_jit(probe)(jnp.ones(2))
  assert seen == [False, True]


def test_off_cpu_it_is_jax_jit_with_the_options_given(monkeypatch):
  calls = []
  monkeypatch.setattr(step_jit.jax, "jit",
                      lambda fn, **kwargs: calls.append(kwargs) or fn)
  step_jit.training_jit(lambda x: x, platform="gpu", donate_argnums=0)
  assert calls == [{"donate_argnums": 0}]


def test_on_cpu_the_users_compiler_options_join_the_cpu_ones(monkeypatch):
  calls = []
  monkeypatch.setattr(step_jit.jax, "jit",
                      lambda fn, **kwargs: calls.append(kwargs) or fn)
  monkeypatch.setattr(step_jit.cpu_training, "xla_options",
                      lambda: {"a": "cpu", "b": "cpu"})
  step_jit.training_jit(lambda x: x, platform="cpu",
                        compiler_options={"b": "user"}, donate_argnums=1)
  assert calls == [{"compiler_options": {"a": "cpu", "b": "user"},
                    "donate_argnums": 1}]


@pytest.mark.parametrize("platform", ["cpu", "gpu"])
def test_forms_are_on_only_while_the_cpu_step_is_traced(platform):
  seen = []

  def probe(x):
    seen.append(cpu_training.enabled())
    return x * 2
  fn = step_jit.training_jit(probe, platform=platform)
  np.testing.assert_allclose(fn(jnp.ones(3)), 2.0)
  assert seen == [platform == "cpu"] and not cpu_training.enabled()
