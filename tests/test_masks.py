"""Mask geometry, determinism, the configs' kinds and their defaults."""

import numpy as np
import pytest
from PIL import Image

from mask_helpers import RecordingRng
from mask_helpers import hole
from pconvgan import checks
from pconvgan import masks


def test_paper_mask_holes_lie_in_their_thirds():
  m = masks.paper_mask(128, 128)
  assert m.shape == (128, 128, 1) and m.dtype == np.float32
  assert set(np.unique(m)) == {0.0, 1.0}
  h = hole(m)
  # Hand count: 64 x 28 + 48 x 48 = 4096 of 16384 pixels.
  assert h.sum() == 64 * 28 + 48 * 48
  cols = np.nonzero(h.any(0))[0]
  left = cols[cols < 128 // 3]
  right = cols[cols >= 128 // 3]
  assert left.min() == 8 and left.max() == 35
  assert right.min() == 64 and right.max() == 111
  assert h[32:96, 8:36].all() and h[40:88, 64:112].all()


def test_paper_mask_scales_with_the_image():
  m = masks.paper_mask(256, 192)
  h = hole(m)
  assert h[64:192, 12:54].all()
  assert h.sum() == 128 * 42 + 96 * 72
  cols = np.nonzero(h.any(0))[0]
  assert cols[cols < 64].max() < 64 and cols[cols >= 64].min() >= 64


def test_box_masks_are_rectangles_within_size_range():
  for seed in range(20):
    m = masks.box_mask(np.random.default_rng(seed), 64, 96, count=(1, 1),
                       size=(0.2, 0.5))
    h = hole(m)
    rows, cols = np.nonzero(h.any(1))[0], np.nonzero(h.any(0))[0]
    assert h[rows.min():rows.max() + 1, cols.min():cols.max() + 1].all()
    assert 0.2 * 64 - 1 <= len(rows) <= 0.5 * 64 + 1
    assert 0.2 * 96 - 1 <= len(cols) <= 0.5 * 96 + 1


@pytest.mark.parametrize("kind", ["box", "freeform"])
def test_masks_are_deterministic_by_seed(kind):
  sample = masks.mask_sampler({"kind": kind}, 64, 64, train=True)
  a = sample(np.random.default_rng(3), 0)
  b = sample(np.random.default_rng(3), 0)
  c = sample(np.random.default_rng(4), 0)
  np.testing.assert_array_equal(a, b)
  assert not np.array_equal(a, c)


def test_eval_freeform_masks_take_buckets_in_turn():
  sample = masks.mask_sampler({"kind": "freeform"}, 128, 128, train=False)
  for i in range(12):
    lo, hi = masks.LIU_BUCKETS[i % 6]
    assert lo < masks.hole_ratio(sample(masks.index_rng(0, i), i)) <= hi


def test_mask_config_errors_name_the_problem(tmp_path):
  with pytest.raises(TypeError):  # train or evaluation is said by name
    masks.mask_sampler({"kind": "paper"}, 32, 32, True)
  with pytest.raises(ValueError, match="mask kind must be one of"):
    masks.mask_sampler({"kind": "circles"}, 32, 32, train=True)
  with pytest.raises(ValueError, match="needs mask.folder"):
    masks.mask_sampler({"kind": "folder"}, 32, 32, train=True)
  with pytest.raises(FileNotFoundError, match="mask folder not found"):
    masks.mask_sampler({"kind": "folder", "folder": str(tmp_path / "nope")},
                       32, 32, train=True)
  with pytest.raises(ValueError, match="holds no mask images"):
    masks.mask_sampler({"kind": "folder", "folder": str(tmp_path)}, 32, 32,
                       train=True)
  with pytest.raises(ValueError, match="unknown MaskConfig fields"):
    masks.mask_sampler({"kind": "box", "boxes": 3}, 32, 32, train=True)


def test_mix_draws_every_kind_by_its_weight_and_evaluates_in_turn():
  paper = masks.paper_mask(64, 64)
  sample = masks.mask_sampler({"kind": "mix", "mix": (1.0, 0.0, 3.0)}, 64, 64,
                              train=True)
  rng = np.random.default_rng(0)
  draws = [sample(rng, 0) for _ in range(400)]
  n_paper = sum(np.array_equal(d, paper) for d in draws)
  assert 60 <= n_paper <= 140  # a quarter of 400, binomial spread
  for d in draws:  # no boxes: every other draw is a free-form mask
    if not np.array_equal(d, paper):
      assert any(lo < masks.hole_ratio(d) <= hi for lo, hi in masks.LIU_BUCKETS)
  evaluate = masks.mask_sampler({"kind": "mix"}, 64, 64, train=False)
  got = [evaluate(masks.index_rng(0, i), i) for i in range(6)]
  assert np.array_equal(got[0], paper) and np.array_equal(got[3], paper)
  np.testing.assert_array_equal(got[1], evaluate(masks.index_rng(0, 1), 1))
  with pytest.raises(ValueError, match="mask mix"):
    masks.MaskConfig(kind="mix", mix=(0.0, 0.0, 0.0))


def test_coverage_warning_rounds_down_and_only_past_liu_s_largest_bucket():
  hole = np.zeros((10, 100), bool)
  hole.flat[:996] = True  # 99.6% hole: not "100%", some pixels are known
  assert checks.coverage_warning(hole).startswith("covers 99% of the image")
  hole[:] = False
  hole.flat[:600] = True  # 60%: the top of Liu et al.'s (0.5, 0.6] bucket
  assert checks.coverage_warning(hole) is None
  hole.flat[600] = True
  assert checks.coverage_warning(hole).startswith("covers 60%")


@pytest.mark.parametrize("field, value, message", [
    ("box_count", (0, 2), "box_count must be 1 <= min <= max"),
    ("box_count", (3, 2), "box_count must be 1 <= min <= max"),
    ("box_size", (0.0, 0.4), "box_size must be 0 < min <= max <= 1"),
    ("box_size", (0.2, 1.1), "box_size must be 0 < min <= max <= 1"),
    ("buckets", ((0.1, 1.0),), "buckets must be"),
    ("buckets", ((0.3, 0.3),), "buckets must be"),
    ("mix", (1.0, 1.0), "mix must be 3 weights"),
    ("mix", (1.0, 1.0, 1.0, 1.0), "mix must be 3 weights"),
    ("mix", (0.0, 0.0, 0.0), "positive sum"),
    ("mix", (1.0, -0.5, 1.0), "weights >= 0"),
    ("threshold", 255, "threshold must be an integer in 0..254"),
    ("threshold", -1, "threshold must be an integer in 0..254"),
])
def test_each_mask_field_out_of_range_is_refused_by_name(field, value,
                                                         message):
  with pytest.raises(ValueError, match=message):
    masks.MaskConfig(**{field: value})


def test_the_edges_of_each_mask_field_are_accepted():
  masks.MaskConfig(box_count=(1, 1), box_size=(0.5, 1.0),
                   buckets=((0.0, 0.99),), mix=(0.0, 0.0, 0.25),
                   threshold=254)
  masks.MaskConfig(threshold=0, box_count=(2, 2), box_size=(0.3, 0.3))


def test_hole_ratio_counts_a_half_as_hole_as_the_generator_does():
  mask = np.ones((4, 5, 1), np.float32)
  mask[0, :2] = 0.0
  mask[1, :3] = 0.5
  mask[2, 0] = 0.51
  assert masks.hole_ratio(mask) == 5 / 20


def test_box_masks_default_to_sides_of_15_to_45_percent_and_reach_every_edge():
  tops, lefts, bottoms, rights = set(), set(), set(), set()
  for seed in range(300):
    h = hole(masks.box_mask(np.random.default_rng(seed), 32, 40, count=(1, 1)))
    rows, cols = np.nonzero(h.any(1))[0], np.nonzero(h.any(0))[0]
    assert 0.15 * 32 - 1 <= len(rows) <= 0.45 * 32 + 1
    assert 0.15 * 40 - 1 <= len(cols) <= 0.45 * 40 + 1
    tops.add(rows.min()), lefts.add(cols.min())
    bottoms.add(rows.max()), rights.add(cols.max())
  assert 0 in tops and 0 in lefts and 31 in bottoms and 39 in rights


def test_the_mask_config_is_frozen_and_reads_files_at_127_by_default(tmp_path):
  import dataclasses  # pylint: disable=import-outside-toplevel
  with pytest.raises(dataclasses.FrozenInstanceError):
    masks.MaskConfig().kind = "box"
  grey = np.array([[127, 128]], np.uint8)
  Image.fromarray(grey).save(tmp_path / "m.png")
  sample = masks.mask_sampler({"kind": "folder", "folder": str(tmp_path)},
                              1, 2, train=False)
  np.testing.assert_array_equal(sample(None, 0)[..., 0], [[1, 0]])


def test_a_bucket_of_other_than_two_bounds_or_holding_no_count_is_refused():
  for bucket in ((0.1, 0.2, 0.3), (0.1,), (-0.1, 0.2)):
    with pytest.raises(ValueError, match="mask buckets"):
      masks.MaskConfig(buckets=(bucket,))
  with pytest.raises(ValueError, match="holds no pixel count at 32x32"):
    # floor(0.1 * 1024) = floor(0.1005 * 1024) = 102: no count in between.
    masks.freeform_mask(np.random.default_rng(0), 32, 32, (0.1, 0.1005))


def test_the_mask_functions_defaults_are_the_documented_ones():
  for seed in range(20):  # free-form: Liu et al.'s (0.1, 0.2] bucket
    ratio = masks.hole_ratio(masks.freeform_mask(np.random.default_rng(seed),
                                                 32, 32))
    assert 0.1 < ratio <= 0.2
  boxes = set()  # boxes: one or two, each drawing its two sides
  for seed in range(20):
    rng = RecordingRng(seed)
    masks.box_mask(rng, 32, 32)
    boxes.add(sum(entry[0] == "uniform" for entry in rng.log) // 2)
  assert boxes == {1, 2}
  boxes = set()  # the same for the config's kind 'box'
  sample = masks.mask_sampler({"kind": "box"}, 32, 32, train=True)
  for seed in range(20):
    rng = RecordingRng(seed)
    sample(rng, 0)
    boxes.add(sum(entry[0] == "uniform" for entry in rng.log) // 2)
  assert boxes == {1, 2}
  # 'mix': the three kinds with equal weights (a third of 900 is 300, with a
  # binomial spread of 14; a weight of 2 for any kind moves it by 75).
  sample = masks.mask_sampler({"kind": "mix"}, 32, 32, train=True)
  paper = masks.paper_mask(32, 32)
  rng = np.random.default_rng(0)
  n_paper = sum(np.array_equal(sample(rng, 0), paper) for _ in range(900))
  assert 255 <= n_paper <= 345, n_paper


def test_a_box_side_is_at_least_one_pixel():
  m = masks.box_mask(np.random.default_rng(0), 32, 32, count=(1, 1),
                     size=(0.001, 0.001))
  assert hole(m).sum() == 1


def test_a_box_lies_whole_inside_the_image():
  """One box of the drawn sides, never cut by the right or bottom edge."""
  for seed in range(200):
    rng = RecordingRng(seed)
    got = hole(masks.box_mask(rng, 12, 16, count=(1, 1), size=(0.3, 0.6)))
    fh, fw = [entry[2] for entry in rng.log if entry[0] == "uniform"]
    rows, cols = np.nonzero(got.any(1))[0], np.nonzero(got.any(0))[0]
    assert (len(rows), len(cols)) == (round(fh * 12), round(fw * 16)), seed
    assert got.sum() == len(rows) * len(cols)
