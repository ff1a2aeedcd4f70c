"""The phase steps: what each one changes, the joint step against two separate
steps, the CPU forms against the plain steps, and a two-device data-parallel
step against the one-device step."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from pconvgan import discriminator
from pconvgan import generator
from pconvgan import losses
from pconvgan import steps

G_CFG = generator.GeneratorConfig(width=0.125)
D_CFG = {"width": 0.125, "fc_features": 8}
LOSS = steps.LossConfig(adv_weight=0.5)  # large, so the adversarial term shows
# The references are jitted: run eagerly, each of their operations would be
# compiled on its own, several times the cost of one program.
forward = jax.jit(generator.forward, static_argnums=(3, 4))

reconstruction_terms = jax.jit(losses.reconstruction_terms, static_argnames=(
    "valid_weight", "l1_weight", "ssim_weight", "perceptual_weight",
    "style_weight"))


def setup(batch_size=4, size=32, sgd=False):
  """(g_tx, d_tx, state, batch). SGD is linear in the gradient, so results that
  differ only in float summation order stay close; Adam's first step (~sign(g))
  would magnify that noise in tiny gradients."""
  if sgd:
    g_tx, d_tx = optax.sgd(1.0), optax.sgd(1.0)
  else:
    g_tx, d_tx = steps.make_optimizers({"g_learning_rate": 1e-2,
                                        "d_learning_rate": 1e-2})
  state = steps.init_state(jax.random.key(0), size, G_CFG, D_CFG, g_tx, d_tx)
  images = jax.random.uniform(jax.random.key(1), (batch_size, size, size, 3))
  mask = jnp.ones((batch_size, size, size, 1)).at[:, 8:20, 4:12].set(0)
  return g_tx, d_tx, state, {"image": images, "mask": mask}


def host(tree):
  """A copy on the host (np.asarray may share the buffer, which then cannot
  be donated)."""
  return jax.tree.map(np.array, tree)


def same(a, b):
  return all(np.array_equal(x, y) for x, y in
             zip(jax.tree.leaves(a), jax.tree.leaves(b)))


def all_differ(a, b):
  return all(not np.array_equal(x, y) for x, y in
             zip(jax.tree.leaves(a), jax.tree.leaves(b)))


@pytest.mark.parametrize("phase", steps.PHASES)
def test_each_phase_changes_only_what_it_should(phase):
  g_tx, d_tx, state, batch = setup()
  before = host(state)
  fns = steps.make_steps(steps.make_mesh(jax.devices()[:1]), g_tx, d_tx, G_CFG,
                         LOSS)
  after, metrics = fns[phase](state, batch)
  # The state is donated: its buffers are the new state's to reuse.
  assert all(leaf.is_deleted() for leaf in jax.tree.leaves(state))
  assert not any(leaf.is_deleted() for leaf in jax.tree.leaves(batch))
  after = host(after)
  assert int(after["step"]) == 1
  assert all(np.isfinite(float(v)) for v in metrics.values())
  if phase == "joint":  # L_G = L_MSE + lambda L_adv, as the paper's (5)
    np.testing.assert_allclose(
        metrics["g_loss"], metrics["rec"] + LOSS.adv_weight * metrics["adv"],
        rtol=1e-6)
  trains_g = phase in ("generator", "joint")
  trains_d = phase in ("discriminator", "joint")
  for part in ("g", "g_opt"):
    assert (all_differ if trains_g else same)(before[part]["params"] if part == "g"
                                               else before[part],
                                               after[part]["params"] if part == "g"
                                               else after[part]) or part == "g_opt"
  assert same(before["g"], after["g"]) != trains_g
  assert same(before["g_opt"], after["g_opt"]) != trains_g
  assert same(before["d"], after["d"]) != trains_d
  assert same(before["d_opt"], after["d_opt"]) != trains_d
  if trains_g:
    assert all_differ(before["g"]["params"], after["g"]["params"])
    assert all_differ(before["g"]["batch_stats"], after["g"]["batch_stats"])
  if trains_d:
    assert all_differ(before["d"], after["d"])


@pytest.mark.slow
def test_joint_step_equals_a_d_step_then_a_g_step():
  g_tx, d_tx, state, batch = setup(sgd=True)
  joint, metrics = jax.jit(functools.partial(
      steps.joint_step, g_tx=g_tx, d_tx=d_tx, g_config=G_CFG,
      loss_config=LOSS))(host(state), batch)
  # Reference: the discriminator step of phase 2, then a plain G step on L_G.
  after_d, _ = jax.jit(functools.partial(
      steps.discriminator_step, d_tx=d_tx, g_config=G_CFG))(host(state), batch)
  image, mask = batch["image"], batch["mask"]

  def g_loss(params):
    out, stats = generator.apply_generator(
        {"params": params, "batch_stats": state["g"]["batch_stats"]}, image,
        mask, train=True, config=G_CFG)
    fake = mask * image + (1 - mask) * out
    logits = discriminator.apply_discriminator(after_d["d"], fake)
    return (losses.generator_loss(out, image, mask, logits, LOSS.adv_weight,
                                  LOSS.valid_weight), stats)

  (value, stats), grads = jax.jit(jax.value_and_grad(g_loss, has_aux=True))(
      state["g"]["params"])
  updates, _ = g_tx.update(grads, state["g_opt"], state["g"]["params"])
  want_params = optax.apply_updates(state["g"]["params"], updates)
  np.testing.assert_allclose(metrics["g_loss"], value, rtol=1e-5)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4,
                                                       atol=1e-6),
               joint["g"]["params"], want_params)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4,
                                                       atol=1e-8),
               joint["g"]["batch_stats"], stats)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4,
                                                       atol=1e-6),
               joint["d"], after_d["d"])
  # The adversarial term matters: without it the G update differs.
  no_adv, _ = jax.jit(functools.partial(
      steps.joint_step, g_tx=g_tx, d_tx=d_tx, g_config=G_CFG,
      loss_config=steps.LossConfig(adv_weight=0.0)))(host(state), batch)
  assert not same(host(no_adv["g"]["params"]), host(joint["g"]["params"]))


def plain_step(phase, g_tx, d_tx):
  return {"generator": functools.partial(steps.generator_step, g_tx=g_tx,
                                         g_config=G_CFG, loss_config=LOSS),
          "discriminator": functools.partial(steps.discriminator_step,
                                             d_tx=d_tx, g_config=G_CFG),
          "joint": functools.partial(steps.joint_step, g_tx=g_tx, d_tx=d_tx,
                                     g_config=G_CFG, loss_config=LOSS)}[phase]


@pytest.mark.parametrize("phase", steps.PHASES)
def test_steps_with_cpu_forms_equal_the_plain_steps(phase):
  """make_steps for CPU devices traces with cpu_training.forms (the strided
  convolutions' and batch norm's custom VJPs); the step functions jitted
  without them give the same state and metrics."""
  g_tx, d_tx, state, batch = setup(sgd=True)
  mesh = steps.make_mesh(jax.devices("cpu")[:1])
  assert steps.uses_cpu_forms(mesh)
  fns = steps.make_steps(mesh, g_tx, d_tx, G_CFG, LOSS)
  traced = str(fns[phase].trace(host(state), batch).jaxpr)
  assert "custom_vjp" in traced
  assert "custom_vjp" not in str(jax.make_jaxpr(plain_step(phase, g_tx, d_tx))(
      state, batch))
  want, want_metrics = host(jax.jit(plain_step(phase, g_tx, d_tx))(state,
                                                                   batch))
  got, got_metrics = host(fns[phase](host(state), batch))
  for k in want_metrics:
    np.testing.assert_allclose(got_metrics[k], want_metrics[k], rtol=1e-5,
                               err_msg=k)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4,
                                                       atol=1e-6), got, want)
  assert not same(host(state)["g"]["params"], got["g"]["params"]) or (
      phase == "discriminator")


@pytest.mark.slow
@pytest.mark.parametrize("phase", ["generator", "joint"])
def test_two_device_step_equals_one_device_step(phase):
  cpus = jax.devices("cpu")  # simulated ones, also beside a single GPU
  assert len(cpus) >= 2, "conftest sets two CPU devices"
  g_tx, d_tx, state, batch = setup(batch_size=4, sgd=True)
  results = []
  for devices in (cpus[:1], cpus[:2]):
    mesh = steps.make_mesh(devices)
    replicated, sharded = steps.shardings(mesh)
    fns = steps.make_steps(mesh, g_tx, d_tx, G_CFG, LOSS)
    s = jax.device_put(host(state), replicated)
    b = jax.device_put(batch, sharded)
    out, metrics = fns[phase](s, b)
    assert len(b["image"].sharding.device_set) == len(devices)
    results.append((host(out), host(metrics)))
  (one, m1), (two, m2) = results
  for k in m1:
    np.testing.assert_allclose(m1[k], m2[k], rtol=1e-5, err_msg=k)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4,
                                                       atol=1e-6), one, two)


@pytest.mark.slow
def test_ema_follows_the_generator_by_its_decay():
  g_tx, d_tx, _, batch = setup()
  state = steps.init_state(jax.random.key(0), 32, G_CFG, D_CFG, g_tx, d_tx,
                           ema=True)
  before = host(state)
  np.testing.assert_array_equal(before["g_ema"]["params"]["enc1"]["conv"]["kernel"],
                                before["g"]["params"]["enc1"]["conv"]["kernel"])
  fns = steps.make_steps(steps.make_mesh(jax.devices()[:1]), g_tx, d_tx, G_CFG,
                         LOSS, ema_decay=0.9)
  # The warm-up by hand: after step t, min(0.9, (1 + t) / (10 + t)).
  assert np.isclose(float(steps.ema_decay_at(1, 0.9)), 2 / 11)
  assert np.isclose(float(steps.ema_decay_at(1000, 0.9)), 0.9)
  for phase in ("joint", "discriminator", "joint"):
    prev = host(state)
    state, _ = fns[phase](state, batch)
    now = host(state)
    t = int(now["step"])
    d = min(0.9, (1 + t) / (10 + t))
    for e_old, g_new, e_new in zip(jax.tree.leaves(prev["g_ema"]),
                                   jax.tree.leaves(now["g"]),
                                   jax.tree.leaves(now["g_ema"])):
      want = d * e_old + (1 - d) * g_new if phase != "discriminator" else e_old
      np.testing.assert_allclose(e_new, want, rtol=1e-5, atol=1e-7)


def test_learning_rate_decay_by_hand():
  """The half cosine, by hand: 1 up to the start, the mean of 1 and the
  final fraction half-way, the final fraction after the fall."""
  cfg = {"g_decay_start": 100, "g_decay_steps": 50, "g_final_lr_fraction": 0.2}
  for step, want in ((0, 1.0), (100, 1.0), (125, 0.6), (150, 0.2), (10**6, 0.2),
                     (100 + 50 / 3, 0.2 + 0.8 * 0.75)):
    assert np.isclose(float(steps.g_lr_factor(step, cfg)), want), step
  assert float(steps.g_lr_factor(10**6, None)) == 1.0  # constant by default
  with pytest.raises(ValueError, match="g_final_lr_fraction"):
    steps.OptimConfig(g_final_lr_fraction=0.0)


@pytest.mark.slow
@pytest.mark.parametrize("phase", ["generator", "joint"])
def test_decayed_step_moves_the_generator_by_the_fraction(phase):
  """Past the fall, a G update is the constant-rate update times the final
  fraction (SGD: the update is linear in the rate); D is untouched by it."""
  g_tx, d_tx, state, batch = setup(sgd=True)
  state = dict(state, step=jnp.asarray(10, jnp.int32))
  mesh = steps.make_mesh(jax.devices()[:1])
  before = host(state)
  plain = steps.make_steps(mesh, g_tx, d_tx, G_CFG, LOSS)
  decayed = steps.make_steps(mesh, g_tx, d_tx, G_CFG, LOSS, optim_config={
      "g_decay_start": 0, "g_decay_steps": 5, "g_final_lr_fraction": 0.25})
  a, _ = plain[phase](jax.tree.map(jnp.copy, state), batch)
  b, _ = decayed[phase](jax.tree.map(jnp.copy, state), batch)
  a, b = host(a), host(b)
  for p0, pa, pb in zip(jax.tree.leaves(before["g"]["params"]),
                        jax.tree.leaves(a["g"]["params"]),
                        jax.tree.leaves(b["g"]["params"])):
    np.testing.assert_allclose(pb - p0, 0.25 * (pa - p0), rtol=1e-4, atol=1e-7)
  assert same(a["d"], b["d"])


def test_refinement_head_has_its_own_learning_rate():
  """Adam's first step moves every parameter with a gradient by about its
  rate: the U-Net by optim.g_learning_rate, the head by refine_learning_rate."""
  cfg = generator.GeneratorConfig(width=0.125, refine=4)
  g_tx, d_tx = steps.make_optimizers({"g_learning_rate": 1e-5,
                                      "refine_learning_rate": 1e-2})
  state = steps.init_state(jax.random.key(0), 32, cfg, D_CFG, g_tx, d_tx)
  images = jax.random.uniform(jax.random.key(1), (4, 32, 32, 3))
  mask = jnp.ones((4, 32, 32, 1)).at[:, 8:20, 4:12].set(0)
  step = jax.jit(functools.partial(steps.generator_step, g_tx=g_tx,
                                   g_config=cfg, loss_config=LOSS))
  new, terms = step(state, {"image": images, "mask": mask})
  assert np.isfinite(float(terms["rec"]))
  before, after = host(state["g"]["params"]), host(new["g"]["params"])
  head = np.abs(after["refine3"]["conv"]["bias"] - before["refine3"]["conv"]["bias"])
  unet = np.abs(after["enc1"]["conv"]["bias"] - before["enc1"]["conv"]["bias"])
  np.testing.assert_allclose(head, 1e-2, rtol=0.05)
  np.testing.assert_allclose(unet, 1e-5, rtol=0.05)


@pytest.mark.parametrize("phase", ["generator", "joint"])
def test_a_frozen_unet_keeps_its_weights_and_statistics(phase):
  """With optim.freeze_unet only the head moves, and the loss is that of
  the generator in inference mode (running statistics)."""
  cfg = generator.GeneratorConfig(width=0.125, refine=4)
  optim = {"g_learning_rate": 1e-2, "freeze_unet": True}
  g_tx, d_tx = steps.make_optimizers(optim)
  state = steps.init_state(jax.random.key(0), 32, cfg, D_CFG, g_tx, d_tx)
  images = jax.random.uniform(jax.random.key(1), (4, 32, 32, 3))
  mask = jnp.ones((4, 32, 32, 1)).at[:, 8:20, 4:12].set(0)
  before = host(state)
  fns = steps.make_steps(steps.make_mesh(jax.devices()[:1]), g_tx, d_tx, cfg,
                         LOSS, optim_config=optim)
  new, terms = fns[phase](jax.tree.map(jnp.copy, state),
                          {"image": images, "mask": mask})
  new = host(new)
  for name in generator.layer_names(cfg):
    moved = not same(before["g"]["params"][name], new["g"]["params"][name])
    assert moved == (name == "refine3"), name  # the head's last layer first
  assert same(before["g"]["batch_stats"], new["g"]["batch_stats"])
  out = generator.apply_generator(before["g"], images, mask, config=cfg)
  want = reconstruction_terms(out, images, mask, valid_weight=LOSS.valid_weight)
  np.testing.assert_allclose(terms["mse"], want["mse"], rtol=1e-5)


@pytest.mark.parametrize("phase", ["generator", "joint"])
def test_frozen_batch_norm_trains_every_layer_on_running_statistics(phase):
  """With optim.freeze_batch_norm every layer learns, the running
  statistics stay, and the loss is that of the generator in inference mode
  (in training mode, batch statistics would give another loss)."""
  cfg = generator.GeneratorConfig(width=0.125, refine=4)
  optim = {"g_learning_rate": 1e-2, "freeze_batch_norm": True}
  g_tx, d_tx = steps.make_optimizers(optim)
  state = steps.init_state(jax.random.key(0), 32, cfg, D_CFG, g_tx, d_tx)
  # Running statistics unlike the batch's, so the two modes differ.
  state["g"]["batch_stats"] = jax.tree.map(lambda x: x + 0.5,
                                           state["g"]["batch_stats"])
  images = jax.random.uniform(jax.random.key(1), (4, 32, 32, 3))
  mask = jnp.ones((4, 32, 32, 1)).at[:, 8:20, 4:12].set(0)
  before = host(state)
  fns = steps.make_steps(steps.make_mesh(jax.devices()[:1]), g_tx, d_tx, cfg,
                         LOSS, optim_config=optim)
  new, terms = fns[phase](jax.tree.map(jnp.copy, state),
                          {"image": images, "mask": mask})
  new = host(new)
  for name in ("enc1", "dec1", "refine3"):
    assert not same(before["g"]["params"][name], new["g"]["params"][name]), name
  assert same(before["g"]["batch_stats"], new["g"]["batch_stats"])
  out = generator.apply_generator(before["g"], images, mask, config=cfg)
  want = reconstruction_terms(out, images, mask, valid_weight=LOSS.valid_weight)
  np.testing.assert_allclose(terms["mse"], want["mse"], rtol=1e-5)
  trained_mode, _ = forward(before["g"], images, mask, True, cfg)
  other = reconstruction_terms(trained_mode, images, mask,
                               valid_weight=LOSS.valid_weight)
  assert not np.isclose(float(other["mse"]), float(want["mse"]), rtol=1e-3)


def test_freezing_the_unet_needs_a_head():
  from pconvgan import config as config_lib
  config = config_lib.default_config()
  config.optim.freeze_unet = True
  with pytest.raises(ValueError, match="model.refine is 0"):
    config_lib.parse(config)
  config.model.refine = 8
  assert config_lib.parse(config).optim.freeze_unet


@pytest.mark.parametrize("phase", ["generator", "joint"])
def test_vgg_losses_enter_the_generator_phases(phase):
  """loss.perceptual_weight and loss.style_weight: the step reports Liu et
  al.'s terms of its output, and its update differs from one without them."""
  # LOSS's adversarial weight in both: the plain steps are then the
  # programs test_each_phase_changes_only_what_it_should compiles.
  vgg = steps.LossConfig(adv_weight=LOSS.adv_weight, perceptual_weight=0.05,
                         style_weight=120.0)
  mesh = steps.make_mesh(jax.devices()[:1])
  g_tx, d_tx, state, batch = setup()
  plain_fns = steps.make_steps(mesh, g_tx, d_tx, G_CFG, LOSS)
  vgg_fns = steps.make_steps(mesh, g_tx, d_tx, G_CFG, vgg)
  before = host(state)
  plain, _ = plain_fns[phase](jax.tree.map(jnp.copy, state), batch)
  new, terms = vgg_fns[phase](jax.tree.map(jnp.copy, state), batch)
  out, _ = forward(before["g"], batch["image"], batch["mask"], True, G_CFG)
  want = losses.reconstruction_terms(out, batch["image"], batch["mask"],
                                     perceptual_weight=0.05, style_weight=120.0)
  for name in ("perceptual", "style", "rec"):
    np.testing.assert_allclose(terms[name], want[name], rtol=1e-4)
  assert all_differ(host(plain)["g"]["params"]["dec1"],
                    host(new)["g"]["params"]["dec1"])


def test_generator_step_with_distinct_weights_against_the_losses_outside():
  """One generator step (SGD, rate 1) with distinct valid, L1 and SSIM
  weights: its loss is losses.reconstruction_terms' with those weights in
  their places, and its update is minus the gradient of that loss computed
  here, outside the step (weights swapped inside the step fail this)."""
  weights = dict(valid_weight=0.3, l1_weight=0.7, ssim_weight=2.0)
  loss = steps.LossConfig(adv_weight=0.0, **weights)
  mesh = steps.make_mesh(jax.devices()[:1])
  g_tx, d_tx, state, batch = setup(sgd=True)
  before = host(state)
  fns = steps.make_steps(mesh, g_tx, d_tx, G_CFG, loss)
  new, terms = fns["generator"](jax.tree.map(jnp.copy, state), batch)

  def rec(params):
    out, _ = generator.forward({"params": params,
                                "batch_stats": before["g"]["batch_stats"]},
                               batch["image"], batch["mask"], True, G_CFG)
    return losses.reconstruction_terms(out, batch["image"], batch["mask"],
                                       **weights)["rec"]

  want, grads = jax.jit(jax.value_and_grad(rec))(before["g"]["params"])
  np.testing.assert_allclose(terms["rec"], want, rtol=1e-5)
  swapped = dict(weights, l1_weight=2.0, ssim_weight=0.7)
  out, _ = forward(before["g"], batch["image"], batch["mask"], True, G_CFG)
  other = reconstruction_terms(out, batch["image"], batch["mask"],
                               **swapped)["rec"]
  assert abs(float(other) - float(want)) > 1e-3  # the test can tell a swap
  expected = jax.tree.map(lambda p, g: p - g, before["g"]["params"], grads)
  for have, wanted in zip(jax.tree.leaves(host(new)["g"]["params"]),
                          jax.tree.leaves(expected)):
    np.testing.assert_allclose(have, wanted, rtol=1e-4, atol=1e-6)
