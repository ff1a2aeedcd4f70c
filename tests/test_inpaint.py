"""The inpainting command: any size, exact known pixels, masks, errors."""

import os

import numpy as np
import pytest
from PIL import Image

from pconvgan import inpaint_photos as inpaint


def write(path, array):
  Image.fromarray(array).save(path)
  return str(path)


@pytest.fixture
def photo(tmp_path):
  rng = np.random.default_rng(0)
  image = rng.integers(0, 256, (97, 131, 3), dtype=np.uint8)  # odd H x W
  hole = np.zeros((97, 131), np.uint8)
  hole[20:60, 30:90] = 255
  return (write(tmp_path / "in.png", image), write(tmp_path / "mask.png", hole),
          image, hole > 0)


def run(*args):
  return inpaint.main([str(a) for a in args])


def test_odd_size_keeps_size_and_known_pixels(tiny_checkpoint, photo, tmp_path):
  image_path, mask_path, image, hole = photo
  out = tmp_path / "out.png"
  assert run("--ckpt", tiny_checkpoint, "--image", image_path, "--mask",
             mask_path, "--out", out) == 0
  result = np.asarray(Image.open(out))
  assert result.shape == image.shape
  np.testing.assert_array_equal(result[~hole], image[~hole])
  assert not np.array_equal(result[hole], image[hole])


def test_downscaled_run_keeps_size_and_known_pixels(tiny_checkpoint, photo,
                                                     tmp_path):
  image_path, mask_path, image, hole = photo
  out = tmp_path / "small.png"
  assert run("--ckpt", tiny_checkpoint, "--image", image_path, "--mask",
             mask_path, "--out", out, "--max-side", 64) == 0
  result = np.asarray(Image.open(out))
  assert result.shape == image.shape
  np.testing.assert_array_equal(result[~hole], image[~hole])


def test_max_side_is_the_size_the_model_sees(tiny_checkpoint, photo, tmp_path,
                                             monkeypatch):
  image_path, mask_path, _, _ = photo
  seen = []
  fill = inpaint.regions.fill_holes

  def recording(variables, image, hole, **kwargs):
    seen.append(image.shape[:2])
    return fill(variables, image, hole, **kwargs)

  monkeypatch.setattr(inpaint.regions, "fill_holes", recording)
  outs = {}
  for side in (64, 0):
    outs[side] = tmp_path / f"side{side}.png"
    assert run("--ckpt", tiny_checkpoint, "--image", image_path, "--mask",
               mask_path, "--out", outs[side], "--max-side", side) == 0
  # 131x97 photograph: run at 64x47 with --max-side 64, else at full size.
  assert seen == [(47, 64), (97, 131)]
  assert not np.array_equal(np.asarray(Image.open(outs[64])),
                            np.asarray(Image.open(outs[0])))


def test_soft_and_alpha_masks_are_binarised(tiny_checkpoint, photo, tmp_path):
  image_path, _, image, _ = photo
  soft = np.zeros((97, 131), np.uint8)
  soft[10:40, 10:40] = 100  # below the threshold: known
  soft[50:80, 50:80] = 200  # above: hole
  rgba = np.zeros((97, 131, 4), np.uint8)
  rgba[..., 3] = soft
  for name, mask in (("soft.png", soft), ("alpha.png", rgba)):
    out = tmp_path / f"out_{name}"
    assert run("--ckpt", tiny_checkpoint, "--image", image_path, "--mask",
               write(tmp_path / name, mask), "--out", out) == 0
    result = np.asarray(Image.open(out))
    np.testing.assert_array_equal(result[10:40, 10:40], image[10:40, 10:40])
    assert not np.array_equal(result[50:80, 50:80], image[50:80, 50:80])


def test_empty_mask_returns_the_input(tiny_checkpoint, photo, tmp_path):
  image_path, _, image, _ = photo
  empty = write(tmp_path / "empty.png", np.zeros((97, 131), np.uint8))
  out = tmp_path / "same.png"
  assert run("--ckpt", tiny_checkpoint, "--image", image_path, "--mask", empty,
             "--out", out) == 0
  np.testing.assert_array_equal(np.asarray(Image.open(out)), image)


def test_folder_mode_pairs_by_stem(tiny_checkpoint, tmp_path):
  rng = np.random.default_rng(1)
  os.makedirs(tmp_path / "images")
  os.makedirs(tmp_path / "masks")
  for name, size in (("a", (40, 50)), ("b", (33, 64))):
    write(tmp_path / "images" / f"{name}.jpg",
          rng.integers(0, 256, size + (3,), dtype=np.uint8))
    hole = np.zeros(size, np.uint8)
    hole[5:20, 5:20] = 255
    write(tmp_path / "masks" / f"{name}.png", hole)
  assert run("--ckpt", tiny_checkpoint, "--image", tmp_path / "images",
             "--mask", tmp_path / "masks", "--out", tmp_path / "filled") == 0
  # Each output in its input's format; --format png: PNG.
  assert sorted(os.listdir(tmp_path / "filled")) == ["a.jpg", "b.jpg"]
  assert Image.open(tmp_path / "filled" / "b.jpg").format == "JPEG"
  assert run("--ckpt", tiny_checkpoint, "--image", tmp_path / "images",
             "--mask", tmp_path / "masks", "--out", tmp_path / "png",
             "--format", "png") == 0
  assert sorted(os.listdir(tmp_path / "png")) == ["a.png", "b.png"]
  assert Image.open(tmp_path / "png" / "b.png").size == (64, 33)
  os.remove(tmp_path / "masks" / "b.png")
  assert run("--ckpt", tiny_checkpoint, "--image", tmp_path / "images",
             "--mask", tmp_path / "masks", "--out", tmp_path / "f2") == 1


def test_bad_inputs_are_refused_by_name(tiny_checkpoint, photo, tmp_path, capsys):
  image_path, mask_path, _, _ = photo
  text = tmp_path / "text.png"
  text.write_text("not an image")
  small = write(tmp_path / "small.png", np.zeros((10, 12), np.uint8))
  os.makedirs(tmp_path / "empty_dir")
  cases = [
      ((tiny_checkpoint, text, mask_path), f"cannot read image {text}"),
      ((tiny_checkpoint, image_path, text), f"cannot read mask {text}"),
      ((tiny_checkpoint, tmp_path / "nope.jpg", mask_path), "image not found"),
      ((tiny_checkpoint, image_path, small),
       "is 12x10 but image .* is 131x97"),
      ((tmp_path / "no_ckpt", image_path, mask_path), "checkpoint not found"),
      ((tmp_path / "empty_dir", image_path, mask_path),
       "is not a pconvgan checkpoint"),
  ]
  for (ckpt, image, mask), message in cases:
    out = tmp_path / "never.png"
    assert run("--ckpt", ckpt, "--image", image, "--mask", mask,
               "--out", out) == 1
    err = capsys.readouterr().err
    assert __import__("re").search(message, err), (message, err)
    assert not out.exists()


def test_outputs_never_overwrite_inputs_or_each_other(photo, tmp_path, capsys):
  image_path, mask_path, _, _ = photo
  for out in (image_path, mask_path):
    assert run("--image", image_path, "--mask", mask_path, "--out", out) == 1
    assert "would overwrite an input" in capsys.readouterr().err
  images, mask_dir = tmp_path / "images", tmp_path / "masks"
  for folder in (images / "a", images / "b", mask_dir):
    os.makedirs(folder)
  array = np.zeros((32, 32, 3), np.uint8)
  hole = np.zeros((32, 32), np.uint8)
  hole[8:16, 8:16] = 255
  write(images / "a" / "photo.png", array)
  write(images / "a" / "photo.jpg", array)
  write(mask_dir / "photo.png", hole)
  for out, message in ((images, "is inside the --image folder"),
                       (images / "filled", "is inside the --image folder"),
                       (mask_dir, "is inside the --mask folder"),
                       (tmp_path / "out", "would both be written to")):
    # photo.png and photo.jpg would both be written as photo.png.
    assert run("--image", images, "--mask", mask_dir, "--out", out,
               "--format", "png") == 1
    assert message in capsys.readouterr().err, message
  assert not os.path.exists(tmp_path / "out")


def test_same_names_in_subfolders_keep_their_paths(tiny_checkpoint, tmp_path):
  images, mask_dir = tmp_path / "images", tmp_path / "masks"
  rng = np.random.default_rng(2)
  for sub in ("a", "b"):
    os.makedirs(images / sub)
    os.makedirs(mask_dir / sub)
    write(images / sub / "photo.jpg",
          rng.integers(0, 256, (32, 40, 3), dtype=np.uint8))
    hole = np.zeros((32, 40), np.uint8)
    hole[4:12, 4:12] = 255
    write(mask_dir / sub / "photo.png", hole)
  assert run("--ckpt", tiny_checkpoint, "--image", images, "--mask", mask_dir,
             "--out", tmp_path / "out") == 0
  assert sorted(os.listdir(tmp_path / "out")) == ["a", "b"]
  assert os.listdir(tmp_path / "out" / "a") == ["photo.jpg"]


def test_threshold_out_of_range_is_refused(photo, capsys):
  image_path, mask_path, _, _ = photo
  for value in ("300", "-1", "255"):
    with pytest.raises(SystemExit):
      run("--image", image_path, "--mask", mask_path, "--out", "x.png",
          "--threshold", value)
    assert "--threshold: must be in 0..254" in capsys.readouterr().err


def test_masks_with_no_hole_are_warned_of_and_all_hole_refused(tiny_checkpoint, photo,
                                                       tmp_path, capsys):
  image_path, _, image, _ = photo
  for value, code, message in ((0, 0, "warning: mask {} marks no hole"),
                               (255, 1, "error: mask {} marks every pixel")):
    mask = write(tmp_path / f"m{value}.png",
                 np.full(image.shape[:2], value, np.uint8))
    assert run("--ckpt", tiny_checkpoint, "--image", image_path, "--mask", mask,
               "--out", tmp_path / f"o{value}.png") == code
    assert message.format(mask) in capsys.readouterr().err
  assert os.path.exists(tmp_path / "o0.png")
  assert not os.path.exists(tmp_path / "o255.png")


def test_ensemble_changes_only_the_hole_and_bad_counts_are_refused(
    tiny_checkpoint, photo, tmp_path, capsys):
  image_path, mask_path, image, hole = photo
  single, averaged = tmp_path / "one.png", tmp_path / "eight.png"
  assert run("--ckpt", tiny_checkpoint, "--image", image_path, "--mask",
             mask_path, "--out", single) == 0
  assert run("--ckpt", tiny_checkpoint, "--image", image_path, "--mask",
             mask_path, "--out", averaged, "--ensemble", 8) == 0
  one, eight = np.asarray(Image.open(single)), np.asarray(Image.open(averaged))
  np.testing.assert_array_equal(eight[~hole], image[~hole])
  assert not np.array_equal(one[hole], eight[hole])
  with pytest.raises(SystemExit):
    run("--ckpt", tiny_checkpoint, "--image", image_path, "--mask", mask_path,
        "--out", tmp_path / "x.png", "--ensemble", 3)
  assert "--ensemble: invalid choice: 3" in capsys.readouterr().err


def test_one_mask_for_a_folder_goes_on_past_unreadable_images(
    tiny_checkpoint, tmp_path, capsys):
  rng = np.random.default_rng(2)
  os.makedirs(tmp_path / "images")
  for name in ("a", "c"):
    write(tmp_path / "images" / f"{name}.png",
          rng.integers(0, 256, (40, 48, 3), dtype=np.uint8))
  (tmp_path / "images" / "b.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
  hole = np.zeros((40, 48), np.uint8)
  hole[30:36, 4:20] = 255  # a watermark's place
  mask = write(tmp_path / "watermark.png", hole)
  assert run("--ckpt", tiny_checkpoint, "--image", tmp_path / "images",
             "--mask", mask, "--out", tmp_path / "out") == 1
  err = capsys.readouterr().err
  assert sorted(os.listdir(tmp_path / "out")) == ["a.png", "c.png"]
  assert "1 of 3 images skipped, unreadable: cannot read image" in err
  assert "b.png" in err.splitlines()[-1]
  for name in ("a", "c"):
    before = np.asarray(Image.open(tmp_path / "images" / f"{name}.png"))
    after = np.asarray(Image.open(tmp_path / "out" / f"{name}.png"))
    np.testing.assert_array_equal(after[hole == 0], before[hole == 0])
    assert np.any(after[hole > 0] != before[hole > 0])


def test_dilate_grows_the_hole_by_that_many_pixels(tiny_checkpoint, photo,
                                                    tmp_path, capsys):
  image_path, mask_path, image, hole = photo
  out = tmp_path / "grown.png"
  assert run("--ckpt", tiny_checkpoint, "--image", image_path, "--mask",
             mask_path, "--out", out, "--dilate", "3") == 0
  after = np.asarray(Image.open(out))
  changed = np.any(after != image, axis=-1)
  # hole is rows 20:60, columns 30:90: grown by 3, rows 17:63 and 30-3..
  assert changed[17:63, 27:93].mean() > 0.9
  assert not changed[:16].any() and not changed[64:].any()
  assert not changed[:, :26].any() and not changed[:, 94:].any()
  assert changed[18, 40] and changed[40, 28]  # inside the 3 px ring
  with pytest.raises(SystemExit):
    run("--image", image_path, "--mask", mask_path, "--out", out,
        "--dilate", "-1")
  assert "--dilate must be >= 0" in capsys.readouterr().err


def test_inverted_and_photograph_masks_are_warned_of(tiny_checkpoint, photo,
                                                     tmp_path, capsys):
  image_path, _, image, hole = photo
  inverted = write(tmp_path / "inverted.png",
                   np.where(hole, 0, 255).astype(np.uint8))
  assert run("--ckpt", tiny_checkpoint, "--image", image_path, "--mask",
             inverted, "--out", tmp_path / "o1.png") == 0
  assert (f"warning: mask {inverted} covers 81% of the image: is it "
          "inverted?") in capsys.readouterr().err
  # The photograph itself (with paint on it) given as the mask.
  painted = image.copy()
  painted[hole] = 255
  as_mask = write(tmp_path / "painted.png", painted)
  run("--ckpt", tiny_checkpoint, "--image", image_path, "--mask", as_mask,
      "--out", tmp_path / "o2.png")
  assert (f"warning: mask {as_mask} has the many grey levels of a photograph"
          in capsys.readouterr().err)
  # A drawn mask with soft edges is not warned of.
  soft = np.zeros(hole.shape, np.uint8)
  soft[hole] = 255
  soft[19, 30:90] = 128
  drawn = write(tmp_path / "soft.png", soft)
  assert run("--ckpt", tiny_checkpoint, "--image", image_path, "--mask",
             drawn, "--out", tmp_path / "o3.png") == 0
  assert "warning" not in capsys.readouterr().err


def test_output_format_is_checked_before_any_work(photo, tmp_path, capsys):
  image_path, mask_path, _, _ = photo
  with pytest.raises(SystemExit):
    run("--image", image_path, "--mask", mask_path, "--out",
        tmp_path / "x.gif")
  assert "--out" in capsys.readouterr().err
  assert not os.path.exists(tmp_path / "x.gif")
  # No extension: refused before the model loads, with the formats.
  with pytest.raises(SystemExit):
    run("--ckpt", tmp_path / "absent", "--image", image_path, "--mask",
        mask_path, "--out", tmp_path / "result")
  err = capsys.readouterr().err
  assert (f"--out: output {tmp_path / 'result'} has no extension; end it in "
          "one of .png, .jpg") in err and "absent" not in err
  assert not os.path.exists(tmp_path / "result")


@pytest.mark.parametrize("side", ["10", "63", "-1"])
def test_max_side_below_the_page_limit_is_refused(photo, tmp_path, capsys,
                                                  side):
  image_path, mask_path, _, _ = photo
  with pytest.raises(SystemExit):
    run("--image", image_path, "--mask", mask_path, "--out",
        tmp_path / "o.png", "--max-side", side)
  assert (f"--max-side must be 0 (full size) or at least 64 pixels, got "
          f"{side}") in capsys.readouterr().err


def test_a_dilate_that_covers_the_image_blames_dilate(tiny_checkpoint, photo,
                                                      tmp_path, capsys):
  image_path, mask_path, _, _ = photo
  assert run("--ckpt", tiny_checkpoint, "--image", image_path, "--mask",
             mask_path, "--out", tmp_path / "o.png", "--dilate", "5000") == 1
  err = capsys.readouterr().err
  assert err.strip() == (
      f"inpaint: error: --dilate 5000 grows the holes of mask {mask_path} "
      f"over all of {image_path}: nothing known is left to fill from; use a "
      "smaller --dilate")
  assert not os.path.exists(tmp_path / "o.png")
