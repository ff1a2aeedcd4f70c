"""Any hole, any size: generator.reached against the network itself, and
pconvgan.inpaint_image's fills (no unreached pixel, known pixels exact,
small holes at full resolution, coarse-to-fine scales)."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import pconvgan
from pconvgan import generator
from pconvgan import regions

CFG = pconvgan.GeneratorConfig(width=0.125)


@pytest.fixture(scope="module")
def variables():
  # Random weights: every reached output pixel differs from sigmoid(0) = 0.5,
  # every unreached one is exactly 0.5 (the output layer's bias is masked).
  v = pconvgan.init(jax.random.key(0), CFG)
  out_bias = v["params"]["out"]["conv"]["bias"]
  v["params"]["out"]["conv"]["bias"] = out_bias + 0.3
  return v


def photo(height, width, seed=0):
  """A smooth random image (no flat 0.5 anywhere)."""
  rng = np.random.default_rng(seed)
  y, x = np.mgrid[0:height, 0:width] / max(height, width)
  channels = [0.5 + 0.3 * np.sin(rng.uniform(2, 9) * x + rng.uniform(2, 9) * y
                                 + rng.uniform(0, 6)) for _ in range(3)]
  return np.stack(channels, -1).astype(np.float32) + 0.01


def flat_grey(out, hole):
  return int((np.all(out == 0.5, axis=-1) & hole).sum())


@pytest.mark.parametrize("hole_box", [(48, 208, 48, 208), (0, 100, 0, 100),
                                      (100, 140, 10, 250)])
def test_reached_is_where_the_network_sees_a_known_pixel(variables, hole_box):
  r0, r1, c0, c1 = hole_box
  mask = np.ones((1, 256, 256, 1), np.float32)
  mask[:, r0:r1, c0:c1] = 0
  image = photo(256, 256)[None]
  out = np.asarray(pconvgan.apply(variables, image, mask, config=CFG))[0]
  reach = np.asarray(generator.reached(jnp.asarray(mask)))[0, ..., 0]
  assert set(np.unique(reach)) <= {0.0, 1.0}
  unreached = reach == 0
  assert np.all(out[unreached] == 0.5)
  assert np.mean(np.any(out[~unreached] != 0.5, axis=-1)) > 0.999
  if hole_box == (48, 208, 48, 208):
    assert unreached.sum() > 0  # a 160 px hole is beyond one pass's reach


def test_region_scales_by_hand():
  assert regions.region_scales(10) == [1.0]
  assert regions.region_scales(24) == [1.0]
  assert regions.region_scales(48) == [0.5, 1.0]
  assert regions.region_scales(96) == [0.25, 0.5, 1.0]
  assert regions.region_scales(30) == [0.8, 1.0]


@pytest.mark.slow
@pytest.mark.parametrize("refine", [True, False])
def test_no_hole_pixel_is_left_unreached(variables, refine):
  image = photo(384, 512)
  hole = np.zeros((384, 512), bool)
  hole[60:330, 120:420] = True      # 270 x 300: far beyond one pass's reach
  hole[:90, :90] = True             # a corner
  hole[370:, 500:] = True           # another corner, small
  mask = (~hole)[..., None].astype(np.float32)
  with pytest.warns(generator.UnreachedHoleWarning):
    plain = np.asarray(pconvgan.inpaint(variables, image[None], mask[None],
                                        config=CFG))[0]
  assert flat_grey(plain, hole) > 1000  # what one pass leaves
  out = regions.inpaint_image(variables, image, hole, config=CFG, refine=refine)
  assert out.shape == image.shape and out.dtype == np.float32
  assert flat_grey(out, hole) == 0
  np.testing.assert_array_equal(out[~hole], image[~hole])
  assert np.all((out >= 0) & (out <= 1))


def test_a_small_hole_is_filled_at_full_resolution(variables):
  """The same hole with the same surroundings fills the same in a small and
  a large image: the fill does not depend on the photograph's size."""
  small = photo(256, 256, seed=3)
  large = np.tile(small, (4, 4, 1))  # 1024 x 1024, the small image in its top-left
  large[:256, :256] = small
  hole_small = np.zeros((256, 256), bool)
  hole_small[110:140, 100:150] = True
  hole_large = np.zeros((1024, 1024), bool)
  hole_large[:256, :256] = hole_small
  a = regions.inpaint_image(variables, small, hole_small, config=CFG)
  b = regions.inpaint_image(variables, large, hole_large, config=CFG)
  np.testing.assert_allclose(a[hole_small], b[:256, :256][hole_small], atol=1e-5)


def test_bad_input_is_refused_with_a_clear_error(variables):
  image = photo(64, 64)
  with pytest.raises(ValueError, match=r"the image's 64x64 \(WxH\), got 32x64"):
    regions.inpaint_image(variables, image, np.zeros((64, 32), bool), config=CFG)
  # pconvgan.inpaint's mask (1 = known) is not taken for a hole.
  with pytest.raises(ValueError, match=r"bool \(H, W\).*mask\[\.\.\., 0\] <= 0.5"):
    regions.inpaint_image(variables, image, np.ones((64, 64, 1), np.float32),
                          config=CFG)
  with pytest.raises(ValueError, match="bool"):
    regions.inpaint_image(variables, image, np.zeros((64, 64), np.uint8),
                          config=CFG)
  with pytest.raises(ValueError, match=r"astype\('float32'\) / 255"):
    regions.inpaint_image(variables, (image * 255).astype(np.uint8),
                          np.zeros((64, 64), bool), config=CFG)
  with pytest.raises(ValueError, match="divide 8-bit levels by 255"):
    regions.inpaint_image(variables, image * 255, np.zeros((64, 64), bool),
                          config=CFG)
  with pytest.raises(ValueError, match="all hole"):
    regions.inpaint_image(variables, image, np.ones((64, 64), bool), config=CFG)
  with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
    regions.inpaint_image(variables, image[..., :2], np.zeros((64, 64), bool),
                          config=CFG)
  same = regions.inpaint_image(variables, image, np.zeros((64, 64), bool),
                               config=CFG)
  np.testing.assert_array_equal(same, image)


def test_an_inverted_mask_is_warned_of_and_still_filled(variables):
  image = photo(64, 64)
  hole = np.ones((64, 64), bool)
  hole[20:40, 20:40] = False  # a known square: most likely an inverted mask
  with pytest.warns(regions.MaskCoverageWarning,
                    match=r"the hole covers 90% of the image: is it inverted"):
    out = regions.inpaint_image(variables, image, hole, config=CFG)
  np.testing.assert_array_equal(out[~hole], image[~hole])
  hole = ~hole  # the mask the user meant: no warning
  with warnings.catch_warnings():
    warnings.simplefilter("error", regions.MaskCoverageWarning)
    regions.inpaint_image(variables, image, hole, config=CFG)


def test_new_image_sizes_reuse_compiled_shapes(variables):
  """Crops are padded to bucketed sizes: photographs of other sizes whose
  hole crops fall in the same buckets compile nothing new."""
  config = {"width": 0.125}

  def fill(h, w, side):
    image = np.random.default_rng(h + w).random((h, w, 3), np.float32)
    hole = np.zeros((h, w), bool)
    hole[50:50 + side, 60:60 + side] = True
    regions.inpaint_image(variables, image, hole, config=config)

  fill(300, 400, 40)
  compiled = generator._apply_generator._cache_size()  # pylint: disable=protected-access
  for h, w, side in ((310, 420, 44), (333, 401, 38), (400, 300, 42), (512, 700, 40)):
    fill(h, w, side)
  assert generator._apply_generator._cache_size() == compiled  # pylint: disable=protected-access


def test_progress_counts_every_model_pass(variables):
  image = np.random.default_rng(0).random((128, 192, 3), np.float32)
  hole = np.zeros((128, 192), bool)
  hole[10:20, 10:20] = True  # small: one pass
  hole[40:120, 90:180] = True  # deep: coarse to fine
  seen = []
  regions.inpaint_image(variables, image, hole, config={"width": 0.125},
                        progress=lambda done, total: seen.append((done, total)))
  total = seen[0][1]
  want = 1 + len(regions.region_scales(40.0))  # deepest pixel of the 80x90 box: 40 px
  assert total == want
  assert seen == [(i, total) for i in range(total + 1)]


def test_holes_are_grouped_by_hand():
  hole = np.zeros((200, 300), bool)
  hole[10:20, 10:20] = True
  hole[10:20, 30:40] = True  # 10 px from the first: the same group
  hole[150:160, 200:290] = True  # far from both: a group of its own
  groups, _ = regions._hole_groups(hole)  # pylint: disable=protected-access
  boxes = sorted((r.start, r.stop, c.start, c.stop) for _, (r, c) in groups)
  assert boxes == [(10, 20, 10, 40), (150, 160, 200, 290)]


def test_a_hole_inside_a_ring_of_hole_is_filled_and_known_pixels_kept(variables):
  """A ring-shaped hole whose box holds another, separate hole: each group
  is filled from its own crop, every hole pixel gets a fill."""
  image = photo(256, 256)
  hole = np.zeros((256, 256), bool)
  hole[40:216, 40:216] = True
  hole[60:196, 60:196] = False  # a ring 20 px thick
  hole[120:136, 120:136] = True  # a dot in the middle, 44 px from the ring
  out = regions.inpaint_image(variables, image, hole, config=CFG)
  np.testing.assert_array_equal(out[~hole], image[~hole])
  assert flat_grey(out, hole) == 0
  assert np.abs(out[hole] - image[hole]).mean() > 0.01
  groups, _ = regions._hole_groups(hole)  # pylint: disable=protected-access
  assert len(groups) == 2


def test_a_single_known_row_still_gives_a_fill(variables):
  """All hole but one row: at the coarse scale a model pixel is counted known
  from part of its photo pixels, so every hole pixel gets the model's fill
  (no error, no unreached grey)."""
  image = photo(96, 128, seed=4)
  hole = np.ones((96, 128), bool)
  hole[50] = False
  with pytest.warns(regions.MaskCoverageWarning, match="covers 98% "):
    out = regions.inpaint_image(variables, image, hole, config=CFG)
  assert flat_grey(out, hole) == 0
  np.testing.assert_array_equal(out[~hole], image[~hole])
  assert np.all((out >= 0) & (out <= 1))


def test_one_pass_inpaint_warns_of_unreached_hole_pixels(variables):
  image = photo(256, 256)[None]
  small = np.ones((1, 256, 256, 1), np.float32)
  small[:, 100:120, 100:130] = 0
  with warnings.catch_warnings():
    warnings.simplefilter("error")  # a hole it reaches: no warning
    pconvgan.inpaint(variables, image, small, config=CFG)
  large = np.ones((1, 256, 256, 1), np.float32)
  large[:, 48:208, 48:208] = 0  # 160 px: beyond one pass's reach
  with pytest.warns(generator.UnreachedHoleWarning,
                    match="hole pixels are beyond the reach of one pass") as got:
    out = pconvgan.inpaint(variables, image, large, config=CFG)
  # The caller's line, not pconvgan's.
  assert got.pop(generator.UnreachedHoleWarning).filename == __file__
  assert flat_grey(np.asarray(out)[0], large[0, ..., 0] < 0.5) > 0
  # Under jax.jit the mask is not known: no check, no warning.
  with warnings.catch_warnings():
    warnings.simplefilter("error")
    jax.jit(lambda v, x, m: pconvgan.inpaint(v, x, m, config=CFG))(
        variables, image, large)


def test_boxes_hold_the_pixels_and_their_margin_within_the_image():
  """The crop boxes by hand: rows and columns from the first marked pixel
  less the margin to one past the last plus the margin, cut at the image's
  edges; growing a box moves each side out by the margin, cut likewise."""
  where = np.zeros((20, 30), bool)
  where[5, 7] = where[9, 12] = True
  assert regions._box(where, 2) == (slice(3, 12), slice(5, 15))
  assert regions._box(where, 0) == (slice(5, 10), slice(7, 13))
  where[0, 0] = where[19, 29] = True
  assert regions._box(where, 3) == (slice(0, 20), slice(0, 30))
  box = (slice(3, 12), slice(5, 15))
  assert regions._grow(box, 4, (20, 30)) == (slice(0, 16), slice(1, 19))
  assert regions._grow(box, 10, (20, 30)) == (slice(0, 20), slice(0, 25))
