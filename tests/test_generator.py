"""The Table 1 generator: shapes, parameter counts, hole invariance, errors."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import pconvgan
from pconvgan import generator

TINY = {"width": 0.125}


def table1_param_count():
  """Parameters of Table 1, counted by hand from kernel sizes and filters."""
  count = 5 * 5 * 3 * 64 + 64  # enc1: kernel + bias, no batch norm
  count += 5 * 5 * 64 * 128 + 2 * 128  # enc2: kernel + BN scale/bias
  count += 3 * 3 * 128 * 256 + 2 * 256  # enc3
  count += 2 * (3 * 3 * 256 * 256 + 2 * 256)  # enc4, enc5
  count += 3 * 3 * (256 + 256) * 256 + 2 * 256  # dec1: up(enc5) ++ enc4
  count += 3 * 3 * (256 + 256) * 256 + 2 * 256  # dec2: up(dec1) ++ enc3
  count += 3 * 3 * (256 + 128) * 128 + 2 * 128  # dec3: up(dec2) ++ enc2
  count += 3 * 3 * (128 + 64) * 64 + 2 * 64  # dec4: up(dec3) ++ enc1
  count += 3 * 3 * (64 + 3) * 3 + 2 * 3  # dec5: up(dec4) ++ input image
  count += 1 * 1 * 3 * 3 + 3  # out: 1x1, bias, no batch norm
  return count


def test_parameter_count_matches_table1():
  variables = pconvgan.init(jax.random.key(0))
  assert pconvgan.count_params(variables["params"]) == table1_param_count()
  # Running mean and variance for every batch-normed layer.
  bn_channels = 128 + 3 * 256 + 256 + 256 + 128 + 64 + 3
  assert pconvgan.count_params(variables["batch_stats"]) == 2 * bn_channels


def test_plain_conv_variant_has_the_same_parameters():
  a = pconvgan.init(jax.random.key(0))
  b = pconvgan.init(jax.random.key(0), {"partial": False})
  assert jax.tree.structure(a) == jax.tree.structure(b)


@pytest.mark.parametrize("size", [(32, 32), (64, 96)])
def test_output_shape_and_range(size):
  variables = pconvgan.init(jax.random.key(0), TINY)
  image = jax.random.uniform(jax.random.key(1), (2, *size, 3))
  mask = jnp.ones((2, *size, 1)).at[:, 4:20, 8:24].set(0)
  out = pconvgan.apply(variables, image, mask)
  assert out.shape == (2, *size, 3)
  assert np.all((np.asarray(out) >= 0) & (np.asarray(out) <= 1))
  unbatched = pconvgan.apply(variables, image[0], mask[0])
  assert unbatched.shape == (*size, 3)
  np.testing.assert_allclose(unbatched, out[0], atol=1e-5)


@pytest.mark.parametrize("train", [False, True])
def test_hole_contents_are_ignored(train):
  """Partial convolutions never see the pixels under the hole."""
  variables = pconvgan.init(jax.random.key(0), TINY)
  image = jax.random.uniform(jax.random.key(1), (2, 64, 64, 3))
  mask = jnp.ones((2, 64, 64, 1)).at[:, 10:40, 5:30].set(0)
  garbage = jnp.where(mask > 0, image, 1e3)
  a = pconvgan.apply(variables, image, mask, train=train)
  b = pconvgan.apply(variables, garbage, mask, train=train)
  jax.tree.map(lambda x, y: np.testing.assert_allclose(x, y, atol=1e-5), a, b)


def test_plain_conv_variant_fills_holes_with_mean_and_differs():
  variables = pconvgan.init(jax.random.key(0), TINY)
  image = jax.random.uniform(jax.random.key(1), (1, 32, 32, 3))
  mask = jnp.ones((1, 32, 32, 1)).at[:, 8:16, 8:16].set(0)
  plain = pconvgan.apply(variables, image, mask, config={"partial": False,
                                                          "width": 0.125})
  partial = pconvgan.apply(variables, image, mask, config=TINY)
  assert plain.shape == partial.shape
  assert not np.allclose(plain, partial, atol=1e-3)
  garbage = jnp.where(mask > 0, image, 7.0)
  np.testing.assert_allclose(
      pconvgan.apply(variables, garbage, mask, config={"partial": False}),
      plain, atol=1e-5)


def test_plain_conv_variant_sees_holes_filled_by_hand_with_the_mean():
  """Ablation (d) reads no mask: its output for (image, mask) is its output
  for the image with each hole set to the mean colour of the known pixels
  (NumPy, here) and no hole; one known pixel gives its own colour, an
  all-hole image black."""
  plain = {"partial": False, "width": 0.125}
  variables = pconvgan.init(jax.random.key(0), plain)
  image = np.asarray(jax.random.uniform(jax.random.key(1), (3, 32, 32, 3)))
  mask = np.ones((3, 32, 32, 1), np.float32)
  mask[0, 8:16, 8:20] = 0
  mask[1] = 0
  mask[1, 5, 7] = 1  # one known pixel
  mask[2] = 0  # no known pixel
  by_hand = image.copy()
  for i in range(3):
    known = mask[i, ..., 0] > 0
    mean = image[i][known].mean(0) if known.any() else np.zeros(3)
    by_hand[i][~known] = mean
  np.testing.assert_allclose(by_hand[1, 0, 0], image[1, 5, 7])
  np.testing.assert_allclose(
      pconvgan.apply(variables, image, mask, config=plain),
      pconvgan.apply(variables, by_hand, np.ones_like(mask), config=plain),
      atol=1e-5)


def test_apply_traced_inside_the_cpu_forms_is_not_the_program_traced_outside():
  """apply's jit keys its cache on whether cpu_training's forms are on: the
  same call traced with them (inside a CPU training step) takes their
  custom gradients, and outside them (a user's code) it does not, in
  either order."""
  from pconvgan import cpu_training  # pylint: disable=import-outside-toplevel
  variables = pconvgan.init(jax.random.key(0), TINY)
  image = jax.random.uniform(jax.random.key(1), (2, 32, 32, 3))
  mask = jnp.ones((2, 32, 32, 1)).at[:, 8:16, 8:16].set(0)

  def jaxpr_of_grad():
    loss = lambda x: jnp.sum(pconvgan.apply(variables, x, mask, train=True)[0])
    return str(jax.make_jaxpr(jax.grad(loss))(image))

  outside = jaxpr_of_grad()
  with cpu_training.forms():
    inside = jaxpr_of_grad()
  assert "custom_vjp" in inside and "custom_vjp" not in outside
  assert "custom_vjp" not in jaxpr_of_grad()


def test_options_are_keywords_and_the_arrays_may_be_named():
  variables = pconvgan.init(jax.random.key(0), TINY)
  image, mask = jnp.zeros((1, 32, 32, 3)), jnp.ones((1, 32, 32, 1))
  for fn in (pconvgan.apply, pconvgan.inpaint):
    with pytest.raises(TypeError):
      fn(variables, image, mask, TINY)  # config only by name
    out = fn(variables=variables, image=image, mask=mask, config=TINY)
    assert out.shape == image.shape


def test_train_mode_updates_batch_stats_and_inference_does_not():
  variables = pconvgan.init(jax.random.key(0), TINY)
  image = jax.random.uniform(jax.random.key(1), (2, 32, 32, 3))
  mask = jnp.ones((2, 32, 32, 1)).at[:, :16].set(0)
  out, stats = pconvgan.apply(variables, image, mask, train=True)
  assert out.shape == image.shape
  assert jax.tree.structure(stats) == jax.tree.structure(variables["batch_stats"])
  moved = [not np.allclose(a, b) for a, b in zip(
      jax.tree.leaves(stats), jax.tree.leaves(variables["batch_stats"]))]
  assert all(moved)


def test_all_hole_and_no_hole_masks_give_finite_output_and_gradients():
  variables = pconvgan.init(jax.random.key(0), TINY)
  image = jax.random.uniform(jax.random.key(1), (2, 32, 32, 3))
  for mask in (jnp.zeros((2, 32, 32, 1)), jnp.ones((2, 32, 32, 1))):
    def loss(params):
      out, _ = pconvgan.apply({"params": params,
                               "batch_stats": variables["batch_stats"]},
                              image, mask, train=True)
      return jnp.mean(jnp.square(out - image))
    value, grads = jax.value_and_grad(loss)(variables["params"])
    assert np.isfinite(value)
    assert all(np.all(np.isfinite(g)) for g in jax.tree.leaves(grads))


def test_inpaint_returns_known_pixels_exactly():
  variables = pconvgan.init(jax.random.key(0), TINY)
  image = jax.random.uniform(jax.random.key(1), (2, 64, 32, 3))
  mask = jnp.ones((2, 64, 32, 1)).at[:, 20:50, 3:17].set(0)
  filled = np.asarray(pconvgan.inpaint(variables, image, mask))
  known = np.broadcast_to(np.asarray(mask) > 0, filled.shape)
  np.testing.assert_array_equal(filled[known], np.asarray(image)[known])
  out = np.asarray(pconvgan.apply(variables, image, mask))
  np.testing.assert_array_equal(filled[~known], out[~known])


def test_user_code_can_jit_vmap_and_grad_through_apply():
  """As a user would: apply inside their own jitted, vmapped, differentiated fn."""
  variables = pconvgan.init(jax.random.key(0), TINY)
  images = jax.random.uniform(jax.random.key(1), (3, 32, 64, 3))
  masks = jnp.ones((3, 32, 64, 1)).at[:, 5:25, 10:40].set(0)

  @jax.jit
  def user_loss(params, images, masks):
    v = {"params": params, "batch_stats": variables["batch_stats"]}
    outs = jax.vmap(lambda i, m: pconvgan.inpaint(v, i, m))(images, masks)
    return jnp.mean(jnp.abs(outs - images)), outs

  (value, outs), grads = jax.value_and_grad(user_loss, has_aux=True)(
      variables["params"], images, masks)
  np.testing.assert_allclose(outs, pconvgan.inpaint(variables, images, masks),
                             atol=1e-5)
  assert np.isfinite(value) and value > 0
  norms = [float(jnp.linalg.norm(g)) for g in jax.tree.leaves(grads)]
  assert all(np.isfinite(norms)) and max(norms) > 0

  # Per-example gradients: vmap over grad.
  def one(params, image, mask):
    v = {"params": params, "batch_stats": variables["batch_stats"]}
    return jnp.mean(pconvgan.apply(v, image, mask))
  per_example = jax.vmap(jax.grad(one), in_axes=(None, 0, 0))(
      variables["params"], images, masks)
  leaf = jax.tree.leaves(per_example)[0]
  assert leaf.shape[0] == 3


def test_concrete_images_closed_over_by_a_users_jit_are_checked_and_accepted():
  """Images and masks held as constants by a jitted function (concrete
  arrays, traced values derived from them): apply and inpaint check them
  as they would outside a jit (8-bit levels refused, a mostly-hole mask
  warned of), then give their usual outputs; so does apply_discriminator."""
  variables = pconvgan.init(jax.random.key(0), TINY)
  d_params = pconvgan.init_discriminator(jax.random.key(1), (32, 32),
                                         {"width": 0.125, "fc_features": 8})
  image = jax.random.uniform(jax.random.key(2), (1, 32, 32, 3))
  mask = jnp.ones((1, 32, 32, 1)).at[:, 4:12, 4:12].set(0)

  def users_jit(image, mask):
    @jax.jit
    def user(params):
      v = {"params": params, "batch_stats": variables["batch_stats"]}
      return (pconvgan.apply(v, image, mask), pconvgan.inpaint(v, image, mask),
              pconvgan.apply_discriminator(d_params, image))
    return user(variables["params"])

  out, filled, logits = users_jit(image, mask)
  np.testing.assert_allclose(out, pconvgan.apply(variables, image, mask),
                             atol=1e-6)
  np.testing.assert_allclose(filled, pconvgan.inpaint(variables, image, mask),
                             atol=1e-6)
  np.testing.assert_allclose(logits, pconvgan.apply_discriminator(d_params,
                                                                  image),
                             rtol=1e-5, atol=1e-6)
  with pytest.raises(ValueError, match=r"image values must be in \[0, 1\]"):
    users_jit(image * 255, mask)
  with pytest.warns(pconvgan.MaskCoverageWarning, match="covers 99% "):
    users_jit(image, jnp.zeros_like(mask).at[:, 0, 0].set(1))


@pytest.mark.parametrize("shape, match", [
    ((1, 100, 64, 3), r"multiples of 32, got 100x64"),
    ((1, 64, 64, 4), r"3 RGB channels, got shape \(1, 64, 64, 4\)"),
    ((64, 64), r"got shape \(64, 64\)"),
])
def test_bad_image_shape_is_refused(shape, match):
  variables = pconvgan.init(jax.random.key(0), TINY)
  image = jnp.zeros(shape)
  mask = jnp.ones(shape[:-1] + (1,))
  with pytest.raises(ValueError, match=match):
    pconvgan.apply(variables, image, mask)


def test_bad_mask_and_dtype_are_refused():
  variables = pconvgan.init(jax.random.key(0), TINY)
  image = jnp.zeros((1, 32, 32, 3))
  with pytest.raises(ValueError, match=r"mask must have shape \(1, 32, 32, 1\)"):
    pconvgan.apply(variables, image, jnp.ones((1, 32, 32, 3)))
  with pytest.raises(ValueError, match="dtype uint8"):
    pconvgan.apply(variables, jnp.zeros((1, 32, 32, 3), jnp.uint8),
                   jnp.ones((1, 32, 32, 1)))
  with pytest.raises(ValueError, match="pconvgan.init"):
    pconvgan.apply({"weights": 1}, image, jnp.ones((1, 32, 32, 1)))
  # 8-bit levels in a float array: refused where the values are concrete,
  # for pconvgan.inpaint too; under jax.jit they cannot be seen.
  levels = jnp.full((1, 32, 32, 3), 200.0)
  for fn in (pconvgan.apply, pconvgan.inpaint):
    with pytest.raises(ValueError, match="got 200 to 200; divide 8-bit"):
      fn(variables, levels, jnp.ones((1, 32, 32, 1)))
  with pytest.raises(ValueError, match=r"in \[0, 1\] \(up to 0.05 outside is "
                     r"taken\), got -0.5 to -0.5; clip with np.clip"):
    pconvgan.apply(variables, image - 0.5, jnp.ones((1, 32, 32, 1)))
  with pytest.raises(ValueError, match=r"got -1 to 1; map \[-1, 1\] images"):
    pconvgan.apply(variables, image.at[0, 0].set(1.0) - image.at[0, 1].set(1.0),
                   jnp.ones((1, 32, 32, 1)))
  # A resampling filter's overshoot (within 0.05) is taken; farther is not.
  overshoot = image.at[0, 0, 0].set(-0.049).at[0, 0, 1].set(1.049)
  assert pconvgan.apply(variables, overshoot, jnp.ones((1, 32, 32, 1)),
                        config=TINY).shape == image.shape
  with pytest.raises(ValueError, match="got 0 to 1.051"):
    pconvgan.apply(variables, image.at[0, 0, 0].set(1.051),
                   jnp.ones((1, 32, 32, 1)), config=TINY)
  jitted = jax.jit(lambda v, x, m: pconvgan.apply(v, x, m, config=TINY))
  assert jitted(variables, levels, jnp.ones((1, 32, 32, 1))).shape == image.shape
  # An inverted mask (1 = hole): filled, and warned of.
  inverted = np.zeros((2, 32, 32, 1), np.float32)
  inverted[1, 4:28, 4:28] = 1.0  # the second image: 24 x 24 of 32 x 32 known
  with pytest.warns(pconvgan.MaskCoverageWarning,
                    match=r"the hole covers 100% of the image: is it "
                    r"inverted\? \(mask: 1 = known pixel, 0 = hole\)"), \
      pytest.warns(generator.UnreachedHoleWarning, match="^1024 hole pixels"):
    pconvgan.inpaint(variables, jnp.zeros((2, 32, 32, 3)), inverted,
                     config=TINY)
  inverted[0, 10:12, 10:12] = 1.0  # the worst image: 99.6% hole
  with pytest.warns(pconvgan.MaskCoverageWarning, match="covers 99% ") as got:
    pconvgan.inpaint(variables, jnp.zeros((2, 32, 32, 3)), inverted,
                     config=TINY)
  # The caller's line, not pconvgan's.
  assert got.pop(pconvgan.MaskCoverageWarning).filename == __file__
  with warnings.catch_warnings():
    warnings.simplefilter("error", pconvgan.MaskCoverageWarning)
    pconvgan.inpaint(variables, jnp.zeros((2, 32, 32, 3)),
                     jnp.ones((2, 32, 32, 1)).at[:, 8:16, 8:16].set(0),
                     config=TINY)
  # inpaint_image's hole (bool, True = hole) is refused, naming the turn.
  hole = np.zeros((1, 32, 32, 1), bool)
  hole[:, 8:16, 8:16] = True
  for fn in (pconvgan.apply, pconvgan.inpaint):
    with pytest.raises(ValueError, match=r"got a bool array.*\(~hole\)"):
      fn(variables, image, hole, config=TINY)


def test_bad_config_is_refused():
  with pytest.raises(ValueError, match=r"unknown GeneratorConfig fields \['depth'\]"):
    pconvgan.init(jax.random.key(0), {"depth": 3})
  with pytest.raises(ValueError, match="width must be > 0"):
    pconvgan.init(jax.random.key(0), {"width": 0})
  for bad in (-0.1, 1.0, 1.5):
    with pytest.raises(ValueError, match=r"bn_momentum must be in \[0, 1\)"):
      generator.GeneratorConfig(bn_momentum=bad)
  for bad in (0.0, -0.5):
    with pytest.raises(ValueError, match="bn_eps must be > 0"):
      generator.GeneratorConfig(bn_eps=bad)
  for good in (dict(bn_momentum=0.0), dict(bn_momentum=0.99),
               dict(bn_eps=1e-9), dict(refine=0)):
    generator.GeneratorConfig(**good)


def test_variables_of_the_wrong_kind_are_refused_naming_what_came():
  image, mask = jnp.zeros((32, 32, 3)), jnp.ones((32, 32, 1))
  variables = pconvgan.init(jax.random.key(0), TINY)
  with pytest.raises(ValueError, match=r"keys 'params' and 'batch_stats'\), "
                     r"got dict with keys \['batch_stats', 'weights'\]$"):
    pconvgan.apply({"weights": variables["params"], "batch_stats": {}},
                   image, mask, config=TINY)
  with pytest.raises(ValueError, match=r"\), got list$"):
    pconvgan.apply([variables], image, mask, config=TINY)


def test_a_width_too_small_for_a_filter_still_gives_every_layer_one():
  variables = pconvgan.init(jax.random.key(0), {"width": 0.001})
  kernels = {name: p["conv"]["kernel"].shape[-1]
             for name, p in variables["params"].items()}
  assert min(kernels.values()) == 1 and kernels["out"] == 3, kernels
  out = pconvgan.apply(variables, jnp.zeros((1, 32, 32, 3)),
                       jnp.ones((1, 32, 32, 1)), config={"width": 0.001})
  assert out.shape == (1, 32, 32, 3) and np.all(np.isfinite(out))


def test_reached_counts_a_mask_value_of_one_half_as_hole():
  """As apply does (mask > 0.5 is known): a mask of 0.5 everywhere reaches
  nothing, one just above it everything."""
  half = jnp.full((1, 64, 64, 1), 0.5)
  np.testing.assert_array_equal(generator.reached(half), 0.0)
  np.testing.assert_array_equal(generator.reached(half + 1e-3), 1.0)
  # One known pixel: reached around it, not beyond the U-Net's reach.
  single = generator.reached(jnp.full((256, 256, 1), 0.5).at[128, 128].set(1.0))
  assert single.shape == (256, 256, 1)
  assert single[128, 128, 0] == 1 and single[0, 0, 0] == 0


def test_apply_and_inpaint_take_a_mask_value_of_one_half_as_hole():
  """The docstring's "binarised at 0.5": 0.5 is hole in the network's input,
  in inpaint's composite and in its warnings, as in reached()."""
  variables = pconvgan.init(jax.random.key(0), TINY)
  image = jax.random.uniform(jax.random.key(1), (1, 64, 64, 3))
  mask = jnp.ones((1, 64, 64, 1)).at[:, 8:40, 16:48].set(0.0)
  half = mask.at[:, 8:40, 16:48].set(0.5)
  np.testing.assert_array_equal(
      pconvgan.apply(variables, image, half, config=TINY),
      pconvgan.apply(variables, image, mask, config=TINY))
  with warnings.catch_warnings():
    warnings.simplefilter("error")  # a 32x32 hole: neither warning
    np.testing.assert_array_equal(
        pconvgan.inpaint(variables, image, half, config=TINY),
        pconvgan.inpaint(variables, image, mask, config=TINY))
  everywhere = jnp.full((1, 64, 64, 1), 0.5)
  with pytest.warns(generator.UnreachedHoleWarning, match="^4096 hole pixels"):
    with pytest.warns(pconvgan.MaskCoverageWarning, match="covers 100% "):
      pconvgan.inpaint(variables, image, everywhere, config=TINY)


def test_forward_mode_differentiation_of_apply():
  """Users' jax.jvp works: the public API keeps XLA's own gradients."""
  variables = pconvgan.init(jax.random.key(0), TINY)
  image = jax.random.uniform(jax.random.key(1), (1, 32, 32, 3))
  mask = jnp.ones((1, 32, 32, 1)).at[:, 5:20, 5:20].set(0)
  f = lambda x: jnp.sum(pconvgan.apply(variables, x, mask))
  _, tangent = jax.jvp(f, (image,), (jnp.ones_like(image),))
  np.testing.assert_allclose(tangent, jnp.sum(jax.grad(f)(image)), rtol=1e-3)


@pytest.mark.parametrize("options", [{"partial": True}, {"partial": False},
                                     {"partial": True, "refine": 4}])
@pytest.mark.parametrize("train", [False, True])
def test_nan_and_inf_under_holes_do_not_reach_the_output(options, train):
  """What a user's image holds under a hole (NaN from a failed read, Inf)
  changes nothing, in the paper's model, the plain-convolution one and with
  the refinement head (which reads the image again)."""
  config = {"width": 0.125, **options}
  variables = pconvgan.init(jax.random.key(0), config)
  image = jax.random.uniform(jax.random.key(1), (2, 64, 64, 3))
  mask = jnp.ones((2, 64, 64, 1)).at[:, 10:40, 5:30].set(0)
  clean = pconvgan.apply(variables, image, mask, train=train, config=config)
  for bad in (jnp.nan, jnp.inf, -jnp.inf):
    dirty = jnp.where(mask > 0, image, bad)
    out = pconvgan.apply(variables, dirty, mask, train=train, config=config)
    jax.tree.map(lambda x, y: np.testing.assert_allclose(x, y, atol=1e-5),
                 out, clean)
    filled = pconvgan.inpaint(variables, dirty, mask, config=config)
    assert np.isfinite(np.asarray(filled)).all()


def numpy_conv3x3(x, kernel, bias):
  """A zero-padded 3x3 convolution, one output pixel at a time (NHWC)."""
  b, h, w, _ = x.shape
  padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
  out = np.zeros((b, h, w, kernel.shape[-1]))
  for i in range(h):
    for j in range(w):
      window = padded[:, i:i + 3, j:j + 3, :]  # (B, 3, 3, C_in)
      out[:, i, j] = np.einsum("bklc,klcd->bd", window, kernel) + bias
  return out


def test_refinement_head_against_a_numpy_loop():
  """logits + conv(relu(conv(relu(conv([sigmoid(logits), image, mask]))))),
  written out with the head's last layer made non-zero."""
  rng = np.random.default_rng(0)
  params = pconvgan.generator.init_refine(jax.random.key(0), 4)
  params["refine3"]["conv"]["kernel"] = jnp.asarray(
      rng.normal(size=(3, 3, 4, 3)), jnp.float32)
  params["refine3"]["conv"]["bias"] = jnp.asarray(rng.normal(size=3), jnp.float32)
  logits = rng.normal(size=(2, 6, 5, 3)).astype(np.float32)
  mask = (rng.random((2, 6, 5, 1)) > 0.4).astype(np.float32)
  image = rng.random((2, 6, 5, 3)).astype(np.float32) * mask
  got = pconvgan.generator.refine_logits(params, logits, image, mask)
  p = jax.tree.map(np.asarray, params)
  h = np.concatenate([1 / (1 + np.exp(-logits)), image, mask], -1)
  h = np.maximum(numpy_conv3x3(h, p["refine1"]["conv"]["kernel"],
                               p["refine1"]["conv"]["bias"]), 0)
  h = np.maximum(numpy_conv3x3(h, p["refine2"]["conv"]["kernel"],
                               p["refine2"]["conv"]["bias"]), 0)
  want = logits + numpy_conv3x3(h, p["refine3"]["conv"]["kernel"],
                                p["refine3"]["conv"]["bias"])
  np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_a_fresh_refinement_head_leaves_the_output_unchanged():
  """The head's last layer starts at zero: the U-Net's output, exactly; once
  that layer is non-zero the output changes, in the holes and beside them."""
  cfg = {**TINY, "refine": 8}
  unet = pconvgan.init(jax.random.key(0), TINY)
  head = pconvgan.generator.init_refine(jax.random.key(1), 8)
  variables = {**unet, "params": {**unet["params"], **head}}
  image = jax.random.uniform(jax.random.key(2), (2, 32, 32, 3))
  mask = jnp.ones((2, 32, 32, 1)).at[:, 8:20, 4:12].set(0)
  np.testing.assert_array_equal(pconvgan.apply(variables, image, mask, config=cfg),
                                pconvgan.apply(unet, image, mask, config=TINY))
  head["refine3"]["conv"]["bias"] = jnp.full((3,), 0.5)
  variables["params"].update(head)
  assert not np.allclose(pconvgan.apply(variables, image, mask, config=cfg),
                         pconvgan.apply(unet, image, mask, config=TINY))
  fresh = pconvgan.init(jax.random.key(0), cfg)
  assert sorted(fresh["params"]) == sorted(
      pconvgan.generator.layer_names(cfg))
  assert not np.any(np.asarray(fresh["params"]["refine3"]["conv"]["kernel"]))


def test_head_and_config_must_agree():
  with_head = pconvgan.init(jax.random.key(0), {**TINY, "refine": 4})
  without = pconvgan.init(jax.random.key(0), TINY)
  image, mask = jnp.zeros((1, 32, 32, 3)), jnp.ones((1, 32, 32, 1))
  with pytest.raises(ValueError, match=r"lack the layers \['refine1'"):
    pconvgan.apply(without, image, mask, config={**TINY, "refine": 4})
  with pytest.raises(ValueError, match="hold the refinement head .* refine=0"):
    pconvgan.apply(with_head, image, mask, config=TINY)
  with pytest.raises(ValueError, match="refine must be >= 0"):
    pconvgan.GeneratorConfig(refine=-1)


def randomised(variables, seed):
  """``variables`` with every bias, batch-norm parameter and running
  statistic random (fresh ones are 0 and 1, which hide mistakes)."""
  rng = np.random.default_rng(seed)

  def draw(path, x):
    name = jax.tree_util.keystr(path)
    if "kernel" in name:
      return x
    if "scale" in name or "var" in name:
      return jnp.asarray(rng.uniform(0.5, 1.5, x.shape), jnp.float32)
    return jnp.asarray(rng.normal(0, 0.2, x.shape), jnp.float32)
  return jax.tree_util.tree_map_with_path(draw, variables)


def holed_batch(seed, size=64):
  """Two random images; masks with a big hole (windows of no known pixel
  deep into the encoder), a small one and scattered hole pixels."""
  rng = np.random.default_rng(seed)
  image = rng.random((2, size, size, 3)).astype(np.float32)
  mask = (rng.random((2, size, size, 1)) > 0.2).astype(np.float32)
  mask[0, 8:40, 12:44] = 0
  mask[1, 30:38, 2:20] = 0
  return image, mask


@pytest.mark.parametrize("partial,train", [(True, False), (True, True),
                                           (False, False)])
def test_generator_matches_an_independent_numpy_forward(partial, train):
  """Every layer of Table 1 (partial convolutions with multi-channel masks,
  batch norm from running or batch statistics, ReLU / leaky ReLU 0.2,
  nearest upsampling, skips, sigmoid) against tests/numpy_nets.py."""
  import numpy_nets  # pylint: disable=import-outside-toplevel
  cfg = {"width": 1 / 16, "partial": partial}
  variables = randomised(pconvgan.init(jax.random.key(3), cfg), 4)
  image, mask = holed_batch(5)
  got = pconvgan.apply(variables, image, mask, train=train, config=cfg)
  if train:
    got = got[0]
  want = numpy_nets.generator(jax.tree.map(np.asarray, variables), image, mask,
                              train=train, partial=partial)
  assert np.std(want) > 0.05  # a case where the layers' details matter
  np.testing.assert_allclose(np.asarray(got), want, atol=2e-5, rtol=1e-4)
