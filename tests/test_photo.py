"""Photographs as people have them: orientation, alpha, profile, quality, 16 bits."""

import os

import numpy as np
import pytest
from PIL import Image
from PIL import ImageCms
from PIL import ImageOps

from pconvgan import inpaint_photos as inpaint
from pconvgan import photo


def noise(shape, seed=0, dtype=np.uint8, high=256):
  return np.random.default_rng(seed).integers(0, high, shape, dtype=dtype)


def hole_of(h, w):
  hole = np.zeros((h, w), bool)
  hole[h // 4:h // 2, w // 4:w // 2] = True
  return hole


def test_exif_orientation_is_applied(tmp_path):
  stored = noise((20, 30, 3))
  image = Image.fromarray(stored)
  exif = image.getexif()
  exif[0x0112] = 6  # displayed rotated 90 degrees clockwise
  path = str(tmp_path / "rotated.png")
  image.save(path, exif=exif.tobytes())
  assert photo.oriented_size(path) == (20, 30)
  picture = photo.read(path)
  np.testing.assert_array_equal(np.round(picture.pixels * 255).astype(np.uint8),
                                np.rot90(stored, k=-1))
  out = str(tmp_path / "out.png")
  photo.write(out, picture.pixels, picture)
  with Image.open(out) as written:  # upright now: no orientation left
    assert written.size == (20, 30) and written.getexif().get(0x0112) is None


def test_a_mask_drawn_on_the_displayed_photo_fits(tiny_checkpoint, tmp_path):
  image = Image.fromarray(noise((32, 64, 3)))
  exif = image.getexif()
  exif[0x0112] = 8
  image.save(tmp_path / "in.jpg", exif=exif.tobytes())
  hole = hole_of(64, 32).astype(np.uint8) * 255  # as displayed: 32 x 64 (WxH)
  Image.fromarray(hole).save(tmp_path / "mask.png")
  assert inpaint.main(["--ckpt", tiny_checkpoint, "--image",
                       str(tmp_path / "in.jpg"), "--mask",
                       str(tmp_path / "mask.png"), "--out",
                       str(tmp_path / "out.png")]) == 0
  assert Image.open(tmp_path / "out.png").size == (32, 64)


def test_alpha_channel_and_colour_profile_are_kept(tmp_path):
  rgba = noise((24, 24, 4))
  profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
  path = str(tmp_path / "in.png")
  Image.fromarray(rgba, "RGBA").save(path, icc_profile=profile)
  picture = photo.read(path)
  hole = hole_of(24, 24)
  filled = picture.pixels.copy()
  filled[hole] = 0.5
  out = str(tmp_path / "out.png")
  photo.write(out, filled, picture)
  with Image.open(out) as written:
    assert written.mode == "RGBA" and written.info["icc_profile"] == profile
    result = np.asarray(written)
  np.testing.assert_array_equal(result[..., 3], rgba[..., 3])
  np.testing.assert_array_equal(result[~hole][:, :3], rgba[~hole][:, :3])
  assert (result[hole][:, :3] == 128).all()


def test_jpeg_output_keeps_the_inputs_quality(tmp_path):
  path = str(tmp_path / "in.jpg")
  Image.fromarray(noise((64, 64, 3))).save(path, quality=60)
  picture = photo.read(path)
  out = str(tmp_path / "out.jpg")
  photo.write(out, picture.pixels, picture)
  with Image.open(path) as a, Image.open(out) as b:
    assert a.quantization == b.quantization
  photo.write(str(tmp_path / "from_png.jpg"), picture.pixels)
  with Image.open(tmp_path / "from_png.jpg") as c:
    assert c.quantization != Image.open(path).quantization  # 95, not 60


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_sixteen_bit_greyscale_stays_sixteen_bit(tmp_path, suffix):
  grey = noise((16, 20), dtype=np.uint16, high=65536)
  path = str(tmp_path / f"in{suffix}")
  Image.fromarray(grey).save(path)
  picture = photo.read(path)
  assert picture.sixteen_bit
  out = str(tmp_path / f"out{suffix}")
  photo.write(out, picture.pixels, picture)
  with Image.open(out) as written:
    assert written.mode.startswith("I;16")
    np.testing.assert_array_equal(np.asarray(written), grey)


@pytest.mark.parametrize("suffix, mode", [(".png", "L"), (".jpg", "L"),
                                          (".png", "LA")])
def test_eight_bit_greyscale_stays_greyscale(tmp_path, suffix, mode):
  grey = noise((24, 24)) if suffix == ".png" else np.full((24, 24), 128, np.uint8)
  source = Image.fromarray(grey)
  if mode == "LA":
    source = Image.merge("LA", [source, Image.fromarray(noise((24, 24), 1))])
  path = str(tmp_path / f"in{suffix}")
  source.save(path)
  picture = photo.read(path)
  assert picture.grey and not picture.sixteen_bit
  pixels = picture.pixels.copy()
  pixels[8:16, 8:16] = [0.8, 0.2, 0.3]  # a coloured fill in the hole
  out = str(tmp_path / f"out{suffix}")
  photo.write(out, pixels, picture)
  with Image.open(out) as written:
    assert written.mode == mode
    levels = np.asarray(written)[..., 0] if mode == "LA" else np.asarray(written)
    expected = round((0.299 * 0.8 + 0.587 * 0.2 + 0.114 * 0.3) * 255)
    assert abs(int(levels[11, 12]) - expected) <= (3 if suffix == ".jpg" else 0)
    if suffix == ".png":  # known pixels exactly
      np.testing.assert_array_equal(levels[16:], grey[16:])


@pytest.mark.parametrize("name", ["out.xyz", "out.gif", "out"])
def test_unknown_output_extension_is_refused(tmp_path, name):
  with pytest.raises(ValueError, match="end it in one of .png, .jpg, .jpeg, "
                     ".webp, .tif, .tiff, .bmp"):
    photo.write(str(tmp_path / name), np.zeros((4, 4, 3), np.float32))
  assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orientations_match_pillows_exif_transpose(orientation):
  stored = noise((5, 7, 3), seed=orientation)
  image = Image.fromarray(stored)
  exif = image.getexif()
  exif[0x0112] = orientation
  image.info["exif"] = exif.tobytes()
  want = np.asarray(ImageOps.exif_transpose(image))
  got = photo.ORIENTATIONS.get(orientation, lambda a: a)(stored)
  np.testing.assert_array_equal(got, want)


def write_png16(path, samples, exif=None):
  """A 16-bit PNG written by OpenCV (Pillow cannot), RGB(A) in, plus EXIF."""
  import cv2  # pylint: disable=import-outside-toplevel
  bgr = samples[..., [2, 1, 0] + ([3] if samples.shape[-1] == 4 else [])]
  assert cv2.imwrite(path, bgr)
  if exif is not None:  # an eXIf chunk after IHDR, through our writer's helper
    with open(path, "rb") as f:
      png = f.read()
    chunk = photo.png_chunk(b"eXIf", exif)
    with open(path, "wb") as f:
      f.write(png[:33] + chunk + png[33:])


@pytest.mark.parametrize("suffix, channels", [(".png", 3), (".png", 4),
                                              (".tif", 3), (".tif", 4)])
def test_sixteen_bit_colour_stays_sixteen_bit(tmp_path, suffix, channels):
  import cv2  # pylint: disable=import-outside-toplevel
  import tifffile  # pylint: disable=import-outside-toplevel
  samples = noise((12, 10, channels), dtype=np.uint16, high=65536)
  path = str(tmp_path / f"in{suffix}")
  if suffix == ".png":
    write_png16(path, samples)
  else:
    tifffile.imwrite(path, samples, photometric="rgb",
                     extrasamples=["unassalpha"] if channels == 4 else None)
  picture = photo.read(path)
  assert picture.sixteen_bit and not picture.grey
  # Every 16-bit level survives: 8 bits would have kept only 256 of them.
  np.testing.assert_array_equal(np.round(picture.pixels * 65535), samples[..., :3])
  if channels == 4:
    np.testing.assert_array_equal(picture.alpha, samples[..., 3])
  out = str(tmp_path / f"out{suffix}")
  photo.write(out, picture.pixels, picture)
  written = cv2.imread(out, cv2.IMREAD_UNCHANGED)
  assert written.dtype == np.uint16
  np.testing.assert_array_equal(
      written[..., [2, 1, 0] + ([3] if channels == 4 else [])], samples)
  # Written as JPEG, the same photograph is 8-bit, alpha dropped.
  photo.write(str(tmp_path / "out.jpg"), picture.pixels, picture)
  with Image.open(tmp_path / "out.jpg") as jpeg:
    assert jpeg.mode == "RGB"
  photo.write(str(tmp_path / "out.webp"), picture.pixels, picture)
  with Image.open(tmp_path / "out.webp") as webp:
    assert webp.mode == ("RGBA" if channels == 4 else "RGB")
    if channels == 4:
      np.testing.assert_allclose(np.asarray(webp)[..., 3],
                                 samples[..., 3] / 257, atol=0.51)


def test_sixteen_bit_colour_keeps_orientation_profile_and_exif(tmp_path):
  samples = noise((6, 9, 3), dtype=np.uint16, high=65536)
  exif = Image.Exif()
  exif[0x0112] = 6  # displayed rotated 90 degrees clockwise
  exif[0x010F] = "pconvgan test camera"
  path = str(tmp_path / "in.png")
  write_png16(path, samples, exif.tobytes())
  picture = photo.read(path)
  assert picture.pixels.shape == (9, 6, 3)
  np.testing.assert_array_equal(np.round(picture.pixels * 65535),
                                np.rot90(samples, -1))
  profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
  picture.icc_profile = profile
  out = str(tmp_path / "out.png")
  photo.write(out, picture.pixels, picture)
  with Image.open(out) as written:
    assert written.info.get("icc_profile") == profile
    kept = written.getexif()
    assert kept.get(0x010F) == "pconvgan test camera"
    assert kept.get(0x0112) is None  # upright now
  again = photo.read(out)
  np.testing.assert_array_equal(again.pixels, picture.pixels)
