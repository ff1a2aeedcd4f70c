"""Mask files: binarising grey, colour, alpha and 16-bit images, rotated
files, odd folders, and the folder masks' resizing and augmentation."""

import os

import numpy as np
import pytest
from PIL import Image

from mask_helpers import hole
from pconvgan import masks


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


def test_a_folder_of_odd_or_inverted_mask_files_is_warned_of_once(tmp_path,
                                                                  capsys):
  def folder(name, holes):
    os.makedirs(tmp_path / name)
    paths = []
    for i, marked in enumerate(holes):
      paths.append(str(tmp_path / name / f"{i}.png"))
      Image.fromarray(marked.astype(np.uint8) * 255).save(paths[-1])
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
  # The first 20 files are looked at, no more.
  paths, where = folder("many", [small] * 19 + [np.ones((20, 20), bool)] * 3)
  masks.warn_odd_mask_files(paths, 127, where)
  assert f"1 of the first 20 masks in {where} are odd, e.g. {paths[19]}" in (
      capsys.readouterr().err)


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
  # 32700 / 257 = 127.2 is above 127, and 32600 / 257 = 126.9 is not:
  # divided by 258 or 256 each would fall on the other side.
  levels = np.array([[0, 32600, 32700, 65535]], np.uint16)
  np.testing.assert_array_equal(masks.mask_from_image(Image.fromarray(levels)),
                                [[False, False, True, True]])


def test_only_a_mask_of_zeros_and_ones_marks_every_non_zero_pixel():
  faint = np.array([[0, 2, 100, 200]], np.uint8)  # 8-bit levels, not 0/1
  np.testing.assert_array_equal(masks.mask_from_image(Image.fromarray(faint)),
                                [[False, False, False, True]])
  darkest = np.array([[0, 1, 2]], np.uint8)  # levels up to 2: none above 127
  assert not masks.mask_from_image(Image.fromarray(darkest)).any()


def test_photograph_heuristic_counts_strict_mid_tones_over_a_quarter():
  def image(values):
    return Image.fromarray(np.array([values], np.uint8))
  # Mid-tones lie strictly between 24 and 231.
  assert not masks.looks_like_a_photograph(image([24, 231, 24, 231] * 4))
  assert masks.looks_like_a_photograph(image([25, 230, 25, 230] * 4))
  assert masks.looks_like_a_photograph(image([230, 230, 0, 255] * 4))
  assert masks.looks_like_a_photograph(image([25, 25, 0, 255] * 4))
  # An opaque RGBA photograph is still a photograph.
  opaque = np.dstack([np.full((4, 16, 3), 128, np.uint8),
                      np.full((4, 16), 255, np.uint8)])
  assert masks.looks_like_a_photograph(Image.fromarray(opaque, "RGBA"))
  # Exactly a quarter of mid-tones is not over a quarter.
  assert not masks.looks_like_a_photograph(image([128, 0, 0, 255] * 4))
  assert masks.looks_like_a_photograph(image([128, 128, 0, 255] * 4))
  # Painted strokes on a transparent layer are a mask whatever their colours.
  rgba = np.dstack([np.full((4, 16, 3), 128, np.uint8),
                    np.zeros((4, 16), np.uint8)])
  rgba[:, :4, 3] = 255
  assert not masks.looks_like_a_photograph(Image.fromarray(rgba, "RGBA"))
  rgba[..., 3] = 255
  rgba[0, 0, 3] = 254  # one pixel not quite opaque is enough
  assert not masks.looks_like_a_photograph(Image.fromarray(rgba, "RGBA"))


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
  empty = np.zeros_like(hole_in)  # nothing to grow: nothing, at any radius
  np.testing.assert_array_equal(masks.dilate(empty, 3), empty)


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


def test_folder_training_masks_take_the_8_orientations_alike(tmp_path):
  """A hole with no symmetry (an L) has 8 orientations, 4 turns and 4
  turned mirror images; each comes as often (a 3x3 target keeps the file's
  pixels whenever the cover scale rounds to 1)."""
  ell = np.zeros((3, 3), np.uint8)
  ell[:, 0] = ell[2, 1] = 255
  Image.fromarray(ell).save(tmp_path / "l.png")
  shapes = [np.rot90(ell > 0, k) for k in range(4)] + [
      np.rot90((ell > 0)[:, ::-1], k) for k in range(4)]
  assert len({s.tobytes() for s in shapes}) == 8
  counts = np.zeros(8, int)
  rng = np.random.default_rng(0)
  for _ in range(1200):
    got = hole(masks.folder_mask(str(tmp_path / "l.png"), rng, 3, 3))
    counts += [np.array_equal(got, s) for s in shapes]
  # About 100 each (binomial: sd about 9.5); a missing or doubled
  # orientation is far outside.
  assert counts.sum() > 700 and counts.min() > 60 and counts.max() < 140, counts


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
  checked = 0
  for seed in range(300):
    m = masks.folder_mask(str(tmp_path / "s.png"),
                          np.random.default_rng(seed), height, width)
    assert m.shape == (height, width, 1)
    runs, axis = stripe_runs(hole(m))
    big, small = (64, 32) if axis == "rows" else (32, 64)  # turned size
    s = max(height / big, width / small)
    assert all(8 * s - 1 <= r <= 8 * s * 1.25 + 1 for r in runs), (seed, runs)
    checked += len(runs)
  assert checked > 300  # most crops hold whole stripes to measure


def test_the_first_odd_mask_file_is_named_with_its_own_problem(tmp_path,
                                                                capsys):
  Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "a.png")
  Image.fromarray(np.full((4, 4), 255, np.uint8)).save(tmp_path / "b.png")
  masks.warn_odd_mask_files(masks.list_mask_files(str(tmp_path)), 127,
                            str(tmp_path))
  err = capsys.readouterr().err
  assert f"e.g. {tmp_path / 'a.png'} marks no hole at threshold 127" in err


def test_an_rgb_mask_with_a_transparent_colour_is_read_by_brightness(tmp_path):
  """As for grey: an RGB PNG whose black is marked transparent (tRNS) has no
  painted layer; its brightest channel decides."""
  rgb = np.zeros((1, 4, 3), np.uint8)
  rgb[0, 1] = (100, 0, 0)
  rgb[0, 2] = (0, 200, 0)
  rgb[0, 3] = 255
  path = tmp_path / "m.png"
  Image.fromarray(rgb).save(path, transparency=(0, 0, 0))
  with Image.open(path) as image:
    assert image.mode == "RGB" and "transparency" in image.info
  np.testing.assert_array_equal(masks.load_mask_file(str(path)),
                                [[False, False, True, True]])
