"""Mask geometry, determinism, mask files and export."""

import os

import numpy as np
import pytest
from PIL import Image

from pconvgan import checks
from pconvgan import masks


def hole(mask):
  return mask[..., 0] < 0.5


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


@pytest.mark.parametrize("bucket", masks.LIU_BUCKETS)
def test_freeform_hole_ratio_lies_in_bucket(bucket):
  for seed in range(8):
    m = masks.freeform_mask(np.random.default_rng(seed), 96, 128, bucket)
    assert m.shape == (96, 128, 1)
    assert set(np.unique(m)) <= {0.0, 1.0}
    assert bucket[0] < masks.hole_ratio(m) <= bucket[1]


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


def test_mask_from_image_binarises_grey_alpha_and_16_bit():
  grey = np.array([[0, 100, 128, 255]], np.uint8)
  want = np.array([[False, False, True, True]])
  np.testing.assert_array_equal(masks.mask_from_image(Image.fromarray(grey)), want)
  np.testing.assert_array_equal(
      masks.mask_from_image(Image.fromarray(grey), threshold=99),
      [[False, True, True, True]])
  rgb = np.stack([grey] * 3, -1)
  np.testing.assert_array_equal(masks.mask_from_image(Image.fromarray(rgb)), want)
  # Alpha channel: opaque paint = hole, whatever its colour.
  rgba = np.zeros((1, 4, 4), np.uint8)
  rgba[..., 3] = [0, 50, 200, 255]
  np.testing.assert_array_equal(masks.mask_from_image(Image.fromarray(rgba)), want)
  # A fully opaque RGBA mask falls back to brightness.
  rgba = np.concatenate([rgb, np.full((1, 4, 1), 255, np.uint8)], -1)
  np.testing.assert_array_equal(masks.mask_from_image(Image.fromarray(rgba)), want)
  sixteen = Image.fromarray(np.array([[0, 20000, 40000, 65535]], np.uint16))
  np.testing.assert_array_equal(masks.mask_from_image(sixteen),
                                [[False, False, True, True]])


def test_folder_masks_resize_augment_and_name_bad_files(tmp_path):
  h = np.zeros((40, 60), np.uint8)
  h[10:20, 5:25] = 255
  Image.fromarray(h).save(tmp_path / "a.png")
  eval_sample = masks.mask_sampler({"kind": "folder", "folder": str(tmp_path)},
                                   80, 120, train=False)
  m = eval_sample(masks.index_rng(0, 0), 0)
  assert m.shape == (80, 120, 1)
  np.testing.assert_array_equal(hole(m), np.kron(h > 0, np.ones((2, 2), bool)))
  train_sample = masks.mask_sampler({"kind": "folder", "folder": str(tmp_path)},
                                    32, 32, train=True)
  ratios = {masks.hole_ratio(train_sample(np.random.default_rng(s), 0))
            for s in range(10)}
  assert len(ratios) > 1  # crops differ
  assert all(set(np.unique(train_sample(np.random.default_rng(s), 0))) <= {0, 1}
             for s in range(5))
  (tmp_path / "b.png").write_bytes(b"not an image")
  sample = masks.mask_sampler({"kind": "folder", "folder": str(tmp_path)},
                              32, 32, train=False)
  with pytest.raises(ValueError, match="cannot read mask file .*b.png"):
    sample(masks.index_rng(0, 1), 1)


def test_mask_config_errors_name_the_problem(tmp_path):
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


def test_exported_masks_are_the_evaluation_masks(tmp_path, capsys):
  # --size is width then height, as every size message reads (WxH).
  masks.main(["--kind", "freeform", "--count", "6", "--size", "96", "64",
              "--seed", "5", "--out", str(tmp_path)])
  assert "masks of 96x64 (WxH)" in capsys.readouterr().out
  files = sorted(os.listdir(tmp_path))
  assert files == [f"mask_{i:05d}.png" for i in range(6)]
  assert Image.open(tmp_path / files[0]).size == (96, 64)
  sample = masks.mask_sampler({"kind": "freeform"}, 64, 96, train=False)
  from_files = masks.mask_sampler({"kind": "folder", "folder": str(tmp_path)},
                                  64, 96, train=False)
  for i in range(6):
    want = sample(masks.index_rng(5, i), i)
    np.testing.assert_array_equal(from_files(None, i), want)


@pytest.mark.slow
@pytest.mark.parametrize("size", [(32, 32), (64, 64), (128, 128), (96, 160)])
def test_freeform_masks_never_fail_over_thousands_of_draws(size):
  """Every bucket the configs use, at every training size: a draw must never
  end a training run, and every result lies in its bucket."""
  rng = np.random.default_rng(size[0] * 1000 + size[1])
  for _ in range(400):  # 2,400 draws per size
    for bucket in masks.LIU_BUCKETS:
      ratio = masks.hole_ratio(masks.freeform_mask(rng, *size, bucket))
      assert bucket[0] < ratio <= bucket[1]


def test_freeform_mask_is_exact_in_a_narrow_bucket():
  # A bucket one pixel wide at 32x32 forces the cut-stroke path.
  n = 32 * 32
  bucket = (200 / n, 201 / n)
  for seed in range(30):
    m = masks.freeform_mask(np.random.default_rng(seed), 32, 32, bucket)
    assert int(round(masks.hole_ratio(m) * n)) == 201


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


def test_zero_one_and_coloured_masks_mark_their_holes():
  zero_one = np.zeros((4, 4), np.uint8)
  zero_one[1:3, 1:3] = 1
  np.testing.assert_array_equal(
      masks.mask_from_image(Image.fromarray(zero_one)), zero_one > 0)
  red = np.zeros((4, 4, 3), np.uint8)
  red[0, :, 0] = 255  # a pure red stroke: luminance 76, below 127
  got = masks.mask_from_image(Image.fromarray(red))
  np.testing.assert_array_equal(got, red[..., 0] > 0)
  # A soft white edge is still binarised at the threshold.
  soft = np.array([[0, 100, 200, 255]], np.uint8)
  np.testing.assert_array_equal(masks.mask_from_image(Image.fromarray(soft)),
                                [[False, False, True, True]])


def test_a_pixel_exactly_at_the_threshold_is_known(tmp_path):
  # "above the threshold" is hole: 127 is known at 127, 128 is hole.
  grey = np.array([[126, 127, 128, 200]], np.uint8)
  Image.fromarray(grey).save(tmp_path / "m.png")
  np.testing.assert_array_equal(masks.load_mask_file(str(tmp_path / "m.png")),
                                [[False, False, True, True]])
  known = masks.folder_mask(str(tmp_path / "m.png"), None, 1, 4)[..., 0]
  np.testing.assert_array_equal(known, [[1, 1, 0, 0]])
  np.testing.assert_array_equal(
      masks.load_mask_file(str(tmp_path / "m.png"), threshold=128),
      [[False, False, False, True]])


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_a_rotated_mask_file_is_read_as_displayed(tmp_path, orientation):
  stored = np.zeros((20, 30), np.uint8)
  stored[2:6, 3:12] = 255  # a hole near the stored top-left corner
  image = Image.fromarray(stored)
  exif = image.getexif()
  exif[0x0112] = orientation
  path = str(tmp_path / "m.jpg")
  image.save(path, exif=exif.tobytes(), quality=100)
  displayed = {3: np.rot90(stored, 2), 6: np.rot90(stored, -1),
               8: np.rot90(stored, 1)}[orientation] > 127
  np.testing.assert_array_equal(masks.load_mask_file(path), displayed)


@pytest.mark.parametrize("args,message", [
    (["--seed", "-1"], "--seed must be >= 0, got -1"),
    (["--size", "100000", "10"], "--size sides must be at most"),
    (["--out", "FILE"], "is a file, not a directory"),
    (["--out", "/proc/no/such"], "cannot write there"),
])
def test_mask_command_mistakes_are_one_line(args, message, tmp_path, capsys):
  (tmp_path / "file.png").write_bytes(b"x")
  argv = ["--count", "1", "--out", str(tmp_path / "out")]
  argv += [str(tmp_path / "file.png") if a == "FILE" else a for a in args]
  with pytest.raises(SystemExit):
    masks.main(argv)
  err = capsys.readouterr().err.strip().splitlines()
  assert message in err[-1] and "Traceback" not in "".join(err)


def test_coverage_warning_rounds_down_and_only_past_liu_s_largest_bucket():
  hole = np.zeros((10, 100), bool)
  hole.flat[:996] = True  # 99.6% hole: not "100%", some pixels are known
  assert checks.coverage_warning(hole).startswith("covers 99% of the image")
  hole[:] = False
  hole.flat[:600] = True  # 60%: the top of Liu et al.'s (0.5, 0.6] bucket
  assert checks.coverage_warning(hole) is None
  hole.flat[600] = True
  assert checks.coverage_warning(hole).startswith("covers 60%")


def test_a_folder_of_odd_or_inverted_mask_files_is_warned_of_once(tmp_path,
                                                                  capsys):
  def folder(name, holes):
    os.makedirs(tmp_path / name)
    paths = []
    for i, hole in enumerate(holes):
      paths.append(str(tmp_path / name / f"{i}.png"))
      Image.fromarray(hole.astype(np.uint8) * 255).save(paths[-1])
    return paths, str(tmp_path / name)
  small = np.zeros((20, 20), bool)
  small[5:10, 5:10] = True
  paths, where = folder("inverted", [~small, ~small, small])
  masks.warn_odd_mask_files(paths, 127, where)
  err = capsys.readouterr().err
  assert (f"2 of the first 3 masks in {where} cover most of their image, e.g. "
          f"{paths[0]}: are they inverted?") in err
  masks.warn_odd_mask_files(paths, 127, where)  # once per folder
  assert capsys.readouterr().err == ""
  paths, where = folder("half", [~small, small])  # not most: no warning
  masks.warn_odd_mask_files(paths, 127, where)
  assert capsys.readouterr().err == ""
  paths, where = folder("odd", [np.zeros((20, 20), bool), small])
  masks.warn_odd_mask_files(paths, 127, where)
  assert (f"1 of the first 2 masks in {where} are odd, e.g. {paths[0]} marks "
          "no hole at threshold 127") in capsys.readouterr().err


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


def test_a_16_bit_mask_whose_white_is_255_is_read_as_8_bit_levels():
  """A 16-bit file holding 8-bit levels (0..255) is not rescaled: 255 is
  hole. One holding 16-bit levels (0..65535) is: 32896 (128 * 257) is."""
  eight = Image.fromarray(np.array([[0, 127, 255]], np.uint16))
  sixteen = Image.fromarray(np.array([[0, 127 * 257, 128 * 257, 65535]],
                                     np.uint16))
  assert eight.mode == sixteen.mode == "I;16"
  np.testing.assert_array_equal(masks.mask_from_image(eight, 127),
                                [[False, False, True]])
  np.testing.assert_array_equal(masks.mask_from_image(sixteen, 127),
                                [[False, False, True, True]])
