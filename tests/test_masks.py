"""Mask geometry, determinism, mask files and export."""

import math
import os

import numpy as np
import pytest
from PIL import Image
from PIL import ImageDraw

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


class RecordingRng:
  """A NumPy generator that logs each draw as (method, args, value)."""

  def __init__(self, seed):
    self.rng, self.log = np.random.default_rng(seed), []

  def __getattr__(self, name):
    method = getattr(self.rng, name)

    def draw(*args):
      value = method(*args)
      self.log.append((name, args, value))
      return value
    return draw


class RecordingDraw:
  """An ImageDraw stand-in that logs line and ellipse calls."""

  def __init__(self):
    self.lines, self.ellipses = [], []

  def line(self, points, fill, width, joint):
    self.lines.append((list(points), fill, width, joint))

  def ellipse(self, box, fill):
    self.ellipses.append((tuple(box), fill))


def expected_stroke(log, height, width, scale):
  """The stroke the docstring's model gives for the logged draws, found by
  what each draw is for (its arguments), not by their order: a brush of
  0.04-0.12 of the shorter side, a start anywhere, 2-7 segments of
  0.05-0.25 of it (both times ``scale``), turning by up to 1.2 rad and
  reversing on every other segment, clipped to the image."""
  side = min(height, width)
  value = {args: v for name, args, v in log if name == "uniform"
           and args in ((0.04, 0.12), (0, height), (0, width),
                        (0, 2 * math.pi))}
  turns = [v for name, args, v in log if args == (-1.2, 1.2)]
  lengths = [v for name, args, v in log if args == (0.05, 0.25)]
  (count,) = [v for name, args, v in log if name == "integers"]
  assert 2 <= count <= 7 and len(turns) == len(lengths) == count
  brush = max(1, round(value[(0.04, 0.12)] * side * scale))
  x, y, angle = value[(0, width)], value[(0, height)], value[(0, 2 * math.pi)]
  points = [(x, y)]
  for i, (turn, length) in enumerate(zip(turns, lengths)):
    angle += turn + (math.pi if i % 2 else 0.0)
    x = min(max(x + length * side * scale * math.cos(angle), 0), width - 1)
    y = min(max(y + length * side * scale * math.sin(angle), 0), height - 1)
    points.append((x, y))
  return brush, points


@pytest.mark.parametrize("height, width, scale", [(40, 64, 1.0), (64, 40, 0.7),
                                                  (128, 96, 0.343)])
def test_a_stroke_follows_the_documented_brush_model(height, width, scale):
  for seed in range(20):
    rng, draw = RecordingRng(seed), RecordingDraw()
    start = masks._draw_stroke(draw, rng, height, width, scale)  # pylint: disable=protected-access
    brush, points = expected_stroke(rng.log, height, width, scale)
    ((drawn, fill, line_width, joint),) = draw.lines
    assert (fill, line_width, joint) == (255, brush, "curve")
    np.testing.assert_allclose(drawn, points, rtol=1e-12)
    r = brush / 2  # round caps at both ends
    want = [((px - r, py - r, px + r, py + r), 255)
            for px, py in (points[0], points[-1])]
    np.testing.assert_allclose([b for b, _ in draw.ellipses],
                               [b for b, _ in want], rtol=1e-12)
    assert [f for _, f in draw.ellipses] == [255, 255]
    assert start == points[0]


def recorded_strokes(monkeypatch):
  """Patches masks._draw_stroke to log each call's scale and what it drew."""
  calls = []
  real = masks._draw_stroke  # pylint: disable=protected-access

  def stroke(draw, rng, height, width, scale):
    canvas = Image.new("L", (width, height), 0)
    start = real(ImageDraw.Draw(canvas), rng, height, width, scale)
    draw.bitmap((0, 0), canvas, fill=255)
    calls.append((scale, np.asarray(canvas) > 0, start))
    return start
  monkeypatch.setattr(masks, "_draw_stroke", stroke)
  return calls


def test_freeform_holes_are_made_of_the_strokes_drawn(monkeypatch):
  """Every hole pixel lies on a stroke that was drawn, and a stroke that
  fits is kept whole: the first try of each stroke is at full scale."""
  calls = recorded_strokes(monkeypatch)
  for seed in range(10):
    calls.clear()
    hole_mask = hole(masks.freeform_mask(np.random.default_rng(seed), 48, 64,
                                         (0.3, 0.4)))
    union = np.logical_or.reduce([drawn for _, drawn, _ in calls])
    assert hole_mask.any() and not (hole_mask & ~union).any()
    assert calls[0][0] == 1.0


def test_an_overshooting_stroke_is_redrawn_smaller_three_times(monkeypatch):
  """In a bucket too small for any stroke, each stroke is tried at scales 1,
  0.7, 0.49 and 0.343, and then cut."""
  calls = recorded_strokes(monkeypatch)
  n = 64 * 64
  masks.freeform_mask(np.random.default_rng(0), 64, 64, (5 / n, 8 / n))
  np.testing.assert_allclose([s for s, _, _ in calls],
                             [1.0, 0.7, 0.49, 0.343], rtol=1e-12)


def test_a_stroke_that_fits_is_not_redrawn(monkeypatch):
  calls = recorded_strokes(monkeypatch)
  masks.freeform_mask(np.random.default_rng(1), 64, 64, (0.5, 0.6))
  scales = [s for s, _, _ in calls]
  # Full-scale strokes, each followed only by the smaller tries of a stroke
  # that overshot: never a smaller try after one that fitted.
  assert scales[0] == 1.0 and len(scales) >= 2
  fits = sum(s == 1.0 for s in scales)
  assert fits >= 2 and scales.count(0.7) <= 1


def test_a_cut_stroke_keeps_its_pixels_nearest_its_start(monkeypatch):
  """The cut keeps exactly the pixels needed to reach the target, those
  nearest the stroke's first point (a disc around it within the stroke)."""
  calls = recorded_strokes(monkeypatch)
  n = 128 * 128  # at this size even the smallest try overshoots 8 pixels
  for seed in range(10):
    calls.clear()
    rng = np.random.default_rng(seed)
    target = np.random.default_rng(seed).uniform(5 / n, 8 / n)
    got = hole(masks.freeform_mask(rng, 128, 128, (5 / n, 8 / n)))
    assert got.sum() == math.ceil(target * n)  # the target drawn first
    assert len(calls) == 4  # one stroke, tried four times, the last cut
    _, drawn, (sx, sy) = calls[-1]
    assert not (got & ~drawn).any()
    yy, xx = np.mgrid[:128, :128]
    dist = (yy - sy) ** 2 + (xx - sx) ** 2
    assert dist[got].max() <= dist[drawn & ~got].min()


def test_a_grey_mask_with_a_transparent_colour_is_read_by_brightness(tmp_path):
  """A PNG in mode L whose black is marked transparent (tRNS) has no painted
  layer: its bright pixels are the hole, as without the mark."""
  grey = np.array([[0, 100, 200, 255]], np.uint8)
  path = tmp_path / "m.png"
  Image.fromarray(grey).save(path, transparency=0)
  with Image.open(path) as image:
    assert image.mode == "L" and "transparency" in image.info
  np.testing.assert_array_equal(masks.load_mask_file(str(path)),
                                [[False, False, True, True]])


def test_alpha_decides_only_where_it_is_not_fully_opaque():
  rgb = np.zeros((1, 4, 3), np.uint8)
  rgb[0, 2:] = 255  # white = hole in the colour channels
  opaque = np.dstack([rgb, np.full((1, 4), 255, np.uint8)])
  np.testing.assert_array_equal(
      masks.mask_from_image(Image.fromarray(opaque, "RGBA")),
      [[False, False, True, True]])
  # Alpha barely below opaque everywhere: every pixel is painted, so hole.
  nearly = np.dstack([rgb, np.full((1, 4), 254, np.uint8)])
  assert masks.mask_from_image(Image.fromarray(nearly, "RGBA")).all()
  # Painted means alpha above the threshold, not at it.
  alpha = np.array([[0, 127, 128, 255]], np.uint8)
  painted = np.dstack([np.zeros((1, 4, 3), np.uint8), alpha])
  np.testing.assert_array_equal(
      masks.mask_from_image(Image.fromarray(painted, "RGBA")),
      [[False, False, True, True]])


def test_16_bit_levels_are_scaled_from_above_255():
  # 256 is past 8 bits: a 16-bit mask, scaled by 257 (65535 -> 255), whose
  # largest value is then about 1: every non-zero pixel is hole.
  wide = np.array([[0, 100, 256]], np.uint16)
  np.testing.assert_array_equal(masks.mask_from_image(Image.fromarray(wide)),
                                [[False, True, True]])
  # 32700 / 257 = 127.2 is above 127; divided by anything larger it is not.
  levels = np.array([[0, 32700, 65535]], np.uint16)
  np.testing.assert_array_equal(masks.mask_from_image(Image.fromarray(levels)),
                                [[False, True, True]])


def test_only_a_mask_of_zeros_and_ones_marks_every_non_zero_pixel():
  faint = np.array([[0, 2, 100, 200]], np.uint8)  # 8-bit levels, not 0/1
  np.testing.assert_array_equal(masks.mask_from_image(Image.fromarray(faint)),
                                [[False, False, False, True]])


def test_photograph_heuristic_counts_strict_mid_tones_over_a_quarter():
  def image(values):
    return Image.fromarray(np.array([values], np.uint8))
  # Mid-tones lie strictly between 24 and 231.
  assert not masks.looks_like_a_photograph(image([24, 231, 24, 231] * 4))
  assert masks.looks_like_a_photograph(image([25, 230, 25, 230] * 4))
  # Exactly a quarter of mid-tones is not over a quarter.
  assert not masks.looks_like_a_photograph(image([128, 0, 0, 255] * 4))
  assert masks.looks_like_a_photograph(image([128, 128, 0, 255] * 4))
  # Painted strokes on a transparent layer are a mask whatever their colours.
  rgba = np.dstack([np.full((4, 16, 3), 128, np.uint8),
                    np.zeros((4, 16), np.uint8)])
  rgba[:, :4, 3] = 255
  assert not masks.looks_like_a_photograph(Image.fromarray(rgba, "RGBA"))


def test_the_mask_config_is_frozen_and_reads_files_at_127_by_default(tmp_path):
  import dataclasses  # pylint: disable=import-outside-toplevel
  with pytest.raises(dataclasses.FrozenInstanceError):
    masks.MaskConfig().kind = "box"
  grey = np.array([[127, 128]], np.uint8)
  Image.fromarray(grey).save(tmp_path / "m.png")
  sample = masks.mask_sampler({"kind": "folder", "folder": str(tmp_path)},
                              1, 2, train=False)
  np.testing.assert_array_equal(sample(None, 0)[..., 0], [[1, 0]])


def test_python_dash_m_runs_the_mask_command(tmp_path):
  import subprocess  # pylint: disable=import-outside-toplevel
  import sys  # pylint: disable=import-outside-toplevel
  result = subprocess.run(
      [sys.executable, "-m", "pconvgan.masks", "--kind", "paper", "--count",
       "1", "--size", "16", "8", "--out", str(tmp_path)], capture_output=True,
      text=True, timeout=120)
  assert result.returncode == 0, result.stderr[-2000:]
  with Image.open(tmp_path / "mask_00000.png") as written:
    assert written.size == (16, 8)


def test_folder_training_masks_cover_the_target_at_scales_1_to_1_25(tmp_path):
  """A file whose left half is hole, read at half its size for training:
  scaled by 1-1.25 to cover the target, flipped, turned and cropped, the
  crop keeps 37.5-62.5% hole (at scale 2 it could be all hole or none)."""
  hole_file = np.zeros((64, 64), np.uint8)
  hole_file[:, :32] = 255
  Image.fromarray(hole_file).save(tmp_path / "half.png")
  ratios = []
  for seed in range(60):
    m = masks.folder_mask(str(tmp_path / "half.png"),
                          np.random.default_rng(seed), 32, 32)
    assert m.shape == (32, 32, 1)
    ratios.append(masks.hole_ratio(m))
  assert 0.375 <= min(ratios) and max(ratios) <= 0.625
  # Evaluation: nearest-resized to the target, no augmentation.
  known = masks.folder_mask(str(tmp_path / "half.png"), None, 32, 16)[..., 0]
  want = np.ones((32, 16), np.float32)
  want[:, :8] = 0
  np.testing.assert_array_equal(known, want)


def test_dilate_grows_the_hole_by_a_disc_of_its_radius():
  hole_in = np.zeros((9, 11), bool)
  hole_in[4, 5] = hole_in[0, 0] = True
  for pixels in (1, 2, 3):
    want = np.zeros_like(hole_in)
    for y, x in zip(*np.nonzero(hole_in)):  # a NumPy loop per hole pixel
      for yy in range(9):
        for xx in range(11):
          want[yy, xx] |= (yy - y) ** 2 + (xx - x) ** 2 <= pixels ** 2
    np.testing.assert_array_equal(masks.dilate(hole_in, pixels), want)
  np.testing.assert_array_equal(masks.dilate(hole_in, 0), hole_in)


def test_a_bucket_of_other_than_two_bounds_or_holding_no_count_is_refused():
  with pytest.raises(ValueError, match="mask buckets"):
    masks.MaskConfig(buckets=((0.1, 0.2, 0.3),))
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
    boxes.add(sum(name == "uniform" for name, _, _ in rng.log) // 2)
  assert boxes == {1, 2}
  # 'mix': the three kinds with equal weights.
  sample = masks.mask_sampler({"kind": "mix"}, 64, 64, train=True)
  paper = masks.paper_mask(64, 64)
  rng = np.random.default_rng(0)
  n_paper = sum(np.array_equal(sample(rng, 0), paper) for _ in range(300))
  assert 70 <= n_paper <= 130  # a third of 300, binomial spread


def test_mask_command_sizes_and_out(tmp_path, capsys):
  masks.main(["--kind", "paper", "--count", "1", "--size", "1", "1", "--out",
              str(tmp_path)])
  with Image.open(tmp_path / "mask_00000.png") as written:
    assert written.size == (1, 1)
  with pytest.raises(SystemExit):
    masks.main(["--count", "1"])
  err = capsys.readouterr().err.strip().splitlines()
  assert "the following arguments are required: --out" in err[-1]


def test_inverted_masks_are_those_over_60_percent_hole(tmp_path, capsys):
  for name, n_hole in (("at", 60), ("over", 61)):
    folder = tmp_path / name
    folder.mkdir()
    grey = np.zeros((10, 10), np.uint8)
    grey.flat[:n_hole] = 255
    for i in range(2):
      Image.fromarray(grey).save(folder / f"m{i}.png")
    masks.warn_odd_mask_files(masks.list_mask_files(str(folder)), 127,
                              str(folder))
    err = capsys.readouterr().err
    assert ("cover most of their image" in err) == (name == "over"), err


def test_folder_training_masks_are_flipped_as_well_as_turned(tmp_path):
  """A Z-shaped hole: turns alone never make its mirror image, an S; with
  the random flips both appear (a 3x3 target keeps the file's pixels
  whenever the cover scale rounds to 1)."""
  z = np.zeros((3, 3), np.uint8)
  z[0, 0] = z[0, 1] = z[1, 1] = z[1, 2] = 255
  Image.fromarray(z).save(tmp_path / "z.png")
  turns = [np.rot90(z > 0, k) for k in range(4)]
  mirrors = [np.rot90((z > 0)[:, ::-1], k) for k in range(4)]
  seen = set()
  for seed in range(100):
    got = hole(masks.folder_mask(str(tmp_path / "z.png"),
                                 np.random.default_rng(seed), 3, 3))
    if any(np.array_equal(got, t) for t in turns):
      seen.add("turn")
    if any(np.array_equal(got, m) for m in mirrors):
      seen.add("mirror")
  assert seen == {"turn", "mirror"}


def stripe_runs(hole_2d):
  """Lengths of the interior runs of equal rows or columns of a striped
  hole (those touching the crop's edges are cut), and the stripes' axis."""
  rows = hole_2d[:, 0] if (hole_2d == hole_2d[:, :1]).all() else None
  line = rows if rows is not None else hole_2d[0]
  edges = np.nonzero(np.diff(line.astype(int)))[0]
  return np.diff(edges), "rows" if rows is not None else "columns"


@pytest.mark.parametrize("height, width", [(16, 32), (32, 16)])
def test_folder_training_masks_keep_the_files_aspect_at_the_cover_scale(
    tmp_path, height, width):
  """A 64x32 file of 8-pixel stripes across its rows: turned or not, it is
  scaled by s = max(height / H, width / W) * (1 to 1.25), H x W its turned
  size, so the stripes come out 8 s wide (nearest resizing: +-1 pixel)."""
  stripes = np.zeros((64, 32), np.uint8)
  for top in range(0, 64, 16):
    stripes[top:top + 8] = 255
  Image.fromarray(stripes).save(tmp_path / "s.png")
  for seed in range(300):
    m = masks.folder_mask(str(tmp_path / "s.png"),
                          np.random.default_rng(seed), height, width)
    assert m.shape == (height, width, 1)
    runs, axis = stripe_runs(hole(m))
    big, small = (64, 32) if axis == "rows" else (32, 64)  # turned size
    s = max(height / big, width / small)
    assert all(8 * s - 1 <= r <= 8 * s * 1.25 + 1 for r in runs), (seed, runs)


def test_a_box_side_is_at_least_one_pixel():
  m = masks.box_mask(np.random.default_rng(0), 32, 32, count=(1, 1),
                     size=(0.001, 0.001))
  assert hole(m).sum() == 1


def test_the_first_odd_mask_file_is_named_with_its_own_problem(tmp_path,
                                                                capsys):
  Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "a.png")
  Image.fromarray(np.full((4, 4), 255, np.uint8)).save(tmp_path / "b.png")
  masks.warn_odd_mask_files(masks.list_mask_files(str(tmp_path)), 127,
                            str(tmp_path))
  err = capsys.readouterr().err
  assert f"e.g. {tmp_path / 'a.png'} marks no hole at threshold 127" in err


def test_mask_command_defaults_and_its_largest_side(tmp_path):
  masks.main(["--out", str(tmp_path / "default")])
  written = sorted(os.listdir(tmp_path / "default"))
  assert len(written) == 100  # --count 100, free-form, 128 x 128
  with Image.open(tmp_path / "default" / written[-1]) as image:
    assert image.size == (128, 128)
  masks.main(["--kind", "paper", "--count", "1", "--size", "16384", "1",
              "--out", str(tmp_path / "wide")])
  with pytest.raises(SystemExit):
    masks.main(["--kind", "paper", "--count", "1", "--size", "16385", "1",
                "--out", str(tmp_path / "wider")])
