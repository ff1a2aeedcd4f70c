"""Free-form masks: the brush-stroke model, strokes redrawn smaller and cut,
and every result inside its hole-ratio bucket."""

import math

import numpy as np
import pytest
from PIL import Image
from PIL import ImageDraw

from mask_helpers import RecordingDraw
from mask_helpers import RecordingRng
from mask_helpers import hole
from pconvgan import masks


@pytest.mark.parametrize("bucket", masks.LIU_BUCKETS)
def test_freeform_hole_ratio_lies_in_bucket(bucket):
  for seed in range(8):
    m = masks.freeform_mask(np.random.default_rng(seed), 96, 128, bucket)
    assert m.shape == (96, 128, 1)
    assert set(np.unique(m)) <= {0.0, 1.0}
    assert bucket[0] < masks.hole_ratio(m) <= bucket[1]


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


def expected_stroke(log, height, width, scale):
  """The stroke the docstring's model gives for the logged draws, found by
  what each draw is for (its arguments), not by their order: a brush of
  0.04-0.12 of the shorter side, a start anywhere, 2-7 segments of
  0.05-0.25 of it (both times ``scale``), turning by up to 1.2 rad and
  reversing on every other segment, clipped to the image. (x's and y's
  draws are told apart by their ranges: the image must not be square.)"""
  assert height != width
  side = min(height, width)
  value = {args: v for name, args, v, *_ in log if name == "uniform"
           and args in ((0.04, 0.12), (0, height), (0, width),
                        (0, 2 * math.pi))}
  turns = [v for _, args, v, *_ in log if args == (-1.2, 1.2)]
  lengths = [v for _, args, v, *_ in log if args == (0.05, 0.25)]
  (count,) = [entry[2] for entry in log if entry[0] == "integers"]
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
                                                  (128, 96, 0.343),
                                                  (12, 16, 1.0)])
def test_a_stroke_follows_the_documented_brush_model(height, width, scale):
  """(12 x 16: strokes there reach the image's edges and are clipped.)"""
  segments = set()
  for seed in range(60):
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
    segments.add(len(points) - 1)
  assert segments == set(range(2, 8))  # 2 to 7 segments


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
  fitted (the next try is a new stroke at full scale) is kept whole."""
  calls = recorded_strokes(monkeypatch)
  for seed in range(10):
    calls.clear()
    got = hole(masks.freeform_mask(np.random.default_rng(seed), 48, 64,
                                   (0.3, 0.4)))
    union = np.logical_or.reduce([drawn for _, drawn, _ in calls])
    assert got.any() and not (got & ~union).any()
    fitted = [drawn for (_, drawn, _), (scale, _, _) in zip(calls, calls[1:])
              if scale == 1.0]
    assert fitted and all(not (drawn & ~got).any() for drawn in fitted)


def test_an_overshooting_stroke_is_redrawn_smaller_three_times(monkeypatch):
  """In a bucket smaller than the strokes these seeds draw, each stroke is
  tried at scales 1, 0.7, 0.49 and 0.343, and then cut."""
  calls = recorded_strokes(monkeypatch)
  n = 64 * 64
  masks.freeform_mask(np.random.default_rng(0), 64, 64, (5 / n, 8 / n))
  np.testing.assert_allclose([s for s, _, _ in calls],
                             [1.0, 0.7, 0.49, 0.343], rtol=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 18, 95])
def test_a_stroke_is_redrawn_only_when_it_would_overshoot(monkeypatch, seed):
  """Replaying the tries: a smaller try follows only a try that would have
  taken the hole past the bucket's top; a try that fits is added whole,
  also one that fills the bucket exactly (seeds 18 and 95 draw one)."""
  calls = recorded_strokes(monkeypatch)
  n = 64 * 64
  bucket = (0.2, 0.22)
  got = hole(masks.freeform_mask(np.random.default_rng(seed), 64, 64, bucket))
  high_n = int(bucket[1] * n)
  covered = np.zeros((64, 64), bool)
  exact = False
  for i, (scale, drawn, _) in enumerate(calls):
    # After the last try comes no smaller one, as if a new stroke followed.
    next_scale = calls[i + 1][0] if i + 1 < len(calls) else 1.0
    count = np.count_nonzero(covered | drawn)
    overshoots = count > high_n
    exact |= count == high_n
    assert (next_scale < scale) == (overshoots and scale > 0.35)
    if not overshoots:
      covered |= drawn
  assert not (covered & ~got).any()
  if seed < 4:
    assert sum(s < 1.0 for s, _, _ in calls) > 0  # these seeds do redraw
  else:
    assert exact  # and these fill the bucket exactly


def test_a_cut_stroke_keeps_its_pixels_nearest_its_start(monkeypatch):
  """The cut keeps exactly the pixels needed to reach the target, those
  nearest the stroke's first point (a disc around it within the stroke)."""
  calls = recorded_strokes(monkeypatch)
  n = 128 * 128  # here the smallest tries of these seeds overshoot 8 pixels
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
