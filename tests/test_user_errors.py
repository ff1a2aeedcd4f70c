"""What a new user's mistakes meet (issue 35's independent re-check): one
line that names the argument or file and what to do, before any work; no
traceback, nothing silently wrong."""

import os

import jax
import numpy as np
import pytest
from PIL import Image

import pconvgan
from pconvgan import config as config_lib
from pconvgan import data
from pconvgan import evaluation
from pconvgan import export
from pconvgan import files
from pconvgan import inpaint_photos as inpaint

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def write(path, array):
  Image.fromarray(array).save(path)
  return str(path)


def run(*args):
  return inpaint.main([str(a) for a in args])


@pytest.fixture
def pair(tmp_path):
  rng = np.random.default_rng(0)
  hole = np.zeros((40, 48), np.uint8)
  hole[10:20, 12:30] = 255
  return (write(tmp_path / "in.png", rng.integers(0, 256, (40, 48, 3),
                                                  dtype=np.uint8)),
          write(tmp_path / "mask.png", hole))


def test_output_problem_names_what_is_in_the_way(tmp_path):
  a_file = tmp_path / "photo.png"
  a_file.write_bytes(b"x")
  assert files.output_problem(str(a_file / "x.png"), folder=False) == (
      f"{a_file} is a file, not a folder")
  assert files.output_problem(str(a_file / "sub" / "x.png"), folder=False) == (
      f"{a_file} is a file, not a folder")
  assert files.output_problem(str(a_file), folder=True) == (
      f"{a_file} is a file, not a folder")
  assert files.output_problem(str(tmp_path), folder=False) == (
      f"{tmp_path} is a folder, not a file")
  assert files.output_problem(str(tmp_path / "new" / "deeper"), folder=True) is None
  assert files.output_problem(str(tmp_path / "new" / "x.png"), folder=False) is None
  locked = tmp_path / "locked"
  os.makedirs(locked)
  os.chmod(locked, 0o500)
  try:
    if not os.access(locked, os.W_OK):  # root may write anywhere
      assert files.output_problem(str(locked / "x.png"), folder=False) == (
          f"{locked} is not writable")
  finally:
    os.chmod(locked, 0o700)


def test_outputs_under_a_file_are_refused_before_any_work(pair, tmp_path,
                                                          capsys):
  image, mask = pair
  # --ckpt names nothing: refused before the model would load.
  for out in (f"{image}/x.png", f"{image}/sub/x.png"):
    assert run("--ckpt", tmp_path / "absent", "--image", image, "--mask", mask,
               "--out", out) == 1
    err = capsys.readouterr().err
    assert err.strip() == (f"inpaint: error: cannot write {out}: {image} is a "
                           "file, not a folder")
  os.makedirs(tmp_path / "images")
  write(tmp_path / "images" / "a.png", np.zeros((40, 48, 3), np.uint8))
  assert run("--ckpt", tmp_path / "absent", "--image", tmp_path / "images",
             "--mask", mask, "--out", tmp_path / "in.png" / "filled") == 1
  assert "is a file, not a folder" in capsys.readouterr().err
  with pytest.raises(SystemExit):
    export.main(["--out", f"{image}/x.msgpack"])
  assert f"--out {image}/x.msgpack: {image} is a file" in capsys.readouterr().err


def test_a_leading_tilde_is_the_home_folder(pair, tmp_path, monkeypatch,
                                            tiny_checkpoint):
  image, mask = pair
  monkeypatch.setenv("HOME", str(tmp_path))
  assert run("--ckpt", tiny_checkpoint, "--image=~/in.png", "--mask=~/mask.png",
             "--out=~/out/filled.png") == 0
  assert os.path.isfile(tmp_path / "out" / "filled.png")
  os.makedirs(tmp_path / "photos")
  names = [str(tmp_path / "photos" / f"{n}.png") for n in "ab"]
  for name in names:
    write(name, np.zeros((8, 8, 3), np.uint8))
  assert data.list_images("~/photos") == names
  assert evaluation.test_images({}, "~/photos", "paper")[0] == names
  # train.py --config.data.path=~/photos (the shell leaves ~ after '=').
  train, test = data.split_sources({"source": "folder", "path": "~/photos",
                                    "test_size": 1})
  assert sorted(train + test) == names
  (tmp_path / "list.txt").write_text("a.png 0\nb.png 1\n")
  assert data.read_file_list("~/list.txt", "~/photos") == names


def test_folder_mode_reads_every_format_the_single_mode_reads(tmp_path,
                                                               tiny_checkpoint):
  os.makedirs(tmp_path / "images")
  rng = np.random.default_rng(3)
  for name in ("t.tif", "u.tiff", "g.gif", "p.png", "UP.JPG"):
    write(tmp_path / "images" / name,
          rng.integers(0, 256, (40, 48, 3), dtype=np.uint8))
  hole = np.zeros((40, 48), np.uint8)
  hole[5:15, 5:15] = 255
  mask = write(tmp_path / "mask.png", hole)
  assert run("--ckpt", tiny_checkpoint, "--image", tmp_path / "images",
             "--mask", mask, "--out", tmp_path / "out") == 0
  # Each in its input's format and case, a GIF (not written) as PNG.
  assert sorted(os.listdir(tmp_path / "out")) == [
      "UP.JPG", "g.png", "p.png", "t.tif", "u.tiff"]


def test_a_key_of_any_implementation_is_a_key():
  # Typed keys of every implementation; raw uint32 keys are (2,) for
  # threefry, (4,) for rbg (read with the default implementation).
  keys = [jax.random.key(0, impl=impl)
          for impl in ("threefry2x32", "rbg", "unsafe_rbg")]
  for key in keys + [jax.random.PRNGKey(0)]:
    jax.eval_shape(lambda k: pconvgan.init(k, {"width": 0.125}), key)
  from pconvgan import checks  # pylint: disable=import-outside-toplevel
  checks.check_key(jax.random.key_data(keys[1]))  # a raw rbg key: (4,)
  with pytest.raises(ValueError, match="random key"):
    checks.check_key(np.zeros(3, np.uint32))


def test_a_folder_of_photographs_reads_more_formats_than_training_does(
    tmp_path):
  """A training run's split is a permutation of its folder's images: the
  list of extensions it reads stays as it was; inpainting reads more."""
  for name in ("a.png", "b.tif", "c.gif"):
    write(tmp_path / name, np.zeros((8, 8, 3), np.uint8))
  assert [os.path.basename(p) for p in data.list_images(str(tmp_path))] == [
      "a.png"]
  assert [os.path.basename(p) for p in data.list_images(
      str(tmp_path), data.PHOTO_EXTENSIONS)] == ["a.png", "b.tif", "c.gif"]


def test_an_output_file_that_cannot_be_written_is_one_line(pair, tmp_path,
                                                          capsys,
                                                          tiny_checkpoint):
  image, mask = pair
  out = tmp_path / "out.png"
  out.write_bytes(b"old")
  assert files.output_problem(str(out), folder=False) is None  # overwritten
  os.chmod(out, 0o400)
  try:
    if os.access(out, os.W_OK):
      pytest.skip("this user may write read-only files (root)")
    assert files.output_problem(str(out), folder=False) == (
        f"{out} is not writable")
    assert run("--ckpt", tiny_checkpoint, "--image", image, "--mask", mask,
               "--out", out) == 1
    assert "is not writable" in capsys.readouterr().err
  finally:
    os.chmod(out, 0o600)


def test_a_watermark_mask_among_the_images_is_not_an_image(tmp_path, capsys,
                                                           tiny_checkpoint):
  os.makedirs(tmp_path / "images")
  write(tmp_path / "images" / "a.png", np.zeros((40, 48, 3), np.uint8) + 90)
  hole = np.zeros((40, 48), np.uint8)
  hole[5:15, 5:15] = 255
  mask = write(tmp_path / "images" / "watermark.png", hole)
  # --out inside --image is refused, so write next to it.
  assert run("--ckpt", tiny_checkpoint, "--image", tmp_path / "images",
             "--mask", mask, "--out", tmp_path / "out") == 0
  assert os.listdir(tmp_path / "out") == ["a.png"]
  os.remove(tmp_path / "images" / "a.png")  # the mask alone: nothing to do
  assert run("--ckpt", tiny_checkpoint, "--image", tmp_path / "images",
             "--mask", mask, "--out", tmp_path / "out2") == 1
  assert (f"--image {tmp_path / 'images'} holds no image besides the mask "
          f"{mask}") in capsys.readouterr().err


def test_two_masks_for_one_image_are_refused(tmp_path, capsys):
  os.makedirs(tmp_path / "images")
  os.makedirs(tmp_path / "masks")
  write(tmp_path / "images" / "a.png", np.zeros((40, 48, 3), np.uint8))
  for name in ("a.png", "a.jpg"):
    write(tmp_path / "masks" / name, np.zeros((40, 48), np.uint8))
  assert run("--image", tmp_path / "images", "--mask", tmp_path / "masks",
             "--out", tmp_path / "out") == 1
  err = capsys.readouterr().err
  assert "two masks for the same images:" in err and "keep one" in err
  assert not os.path.exists(tmp_path / "out")


@pytest.mark.parametrize("args, message", [
    (["--threshold", "0.5"], "--threshold: must be an integer in 0..254 (mask "
     "pixels above it are hole), got 0.5"),
    (["--out", "fo.png"], "--out fo.png looks like a file name, but --image "
     "is a folder"),
])
def test_argument_mistakes_get_one_line(tmp_path, capsys, args, message,
                                        monkeypatch):
  monkeypatch.chdir(tmp_path)
  os.makedirs("images")
  write("images/a.png", np.zeros((8, 8, 3), np.uint8))
  base = {"--image": "images", "--mask": "images/a.png", "--out": "out"}
  for key, value in zip(args[::2], args[1::2]):
    base[key] = value
  with pytest.raises(SystemExit):
    run(*[x for kv in base.items() for x in kv])
  assert message in capsys.readouterr().err
  assert not os.path.exists("fo.png")


def test_a_shell_pattern_gets_a_hint(pair, capsys):
  image, mask = pair
  with pytest.raises(SystemExit):
    run("--image", image, mask, "--mask", mask, "--out", "x.png")
  err = capsys.readouterr().err
  assert f"unrecognized arguments: {mask}; --image takes one file or a " \
         "folder" in err


def test_an_alpha_channel_that_the_output_cannot_hold_is_warned_of(
    tmp_path, capsys, tiny_checkpoint):
  rgba = np.full((40, 48, 4), 200, np.uint8)
  rgba[..., 3] = 128
  image = write(tmp_path / "rgba.png", rgba)
  hole = np.zeros((40, 48), np.uint8)
  hole[5:15, 5:15] = 255
  mask = write(tmp_path / "mask.png", hole)
  assert run("--ckpt", tiny_checkpoint, "--image", image, "--mask", mask,
             "--out", tmp_path / "o.jpg") == 0
  assert (f"{image} has an alpha channel, which .jpg files cannot hold"
          in capsys.readouterr().err)
  assert run("--ckpt", tiny_checkpoint, "--image", image, "--mask", mask,
             "--out", tmp_path / "o.png") == 0
  assert "alpha" not in capsys.readouterr().err
  rgba[..., 3] = 255  # opaque: nothing to lose
  opaque = write(tmp_path / "opaque.png", rgba)
  assert run("--ckpt", tiny_checkpoint, "--image", opaque, "--mask", mask,
             "--out", tmp_path / "o2.jpg") == 0
  assert "alpha" not in capsys.readouterr().err


def test_eval_masks_and_data_that_are_not_folders_are_named(tmp_path):
  demo = data.demo_folder()
  a_file = tmp_path / "m.png"
  a_file.write_bytes(b"x")
  with pytest.raises(ValueError, match=f"--masks {tmp_path}/none: no such "
                     "folder"):
    evaluation.test_images({}, demo, str(tmp_path / "none"))
  with pytest.raises(ValueError, match=r"--masks .*m.png is a file: give a "
                     "folder of mask images or a kind"):
    evaluation.test_images({}, demo, str(a_file))
  with pytest.raises(ValueError, match=r"neither a kind of mask \(paper"):
    evaluation.test_images({}, demo, "freefrom")
  with pytest.raises(ValueError, match="image folder .*m.png is a file, not "
                     "a folder"):
    evaluation.test_images({}, str(a_file), "paper")


def test_config_files_that_are_not_configs_get_one_line(tmp_path):
  (tmp_path / "photo.png").write_bytes(b"x")
  with pytest.raises(ValueError, match="photo.png is not a Python file"):
    config_lib.load_file(str(tmp_path / "photo.png"))
  with pytest.raises(ValueError, match=r"takes no argument, got 'x' after the "
                     "':'"):
    config_lib.load_file(os.path.join(ROOT, "configs", "demo.py") + ":x")
  cfg = config_lib.default_config()
  cfg.train.phase_steps = (0, 0, 0)
  with pytest.raises(ValueError, match="phase_steps has no step to train"):
    config_lib.parse(cfg)


def test_a_key_that_is_not_a_random_key_is_refused():
  for bad in (0, "0", np.zeros(3, np.float32)):
    with pytest.raises(ValueError, match="key must be a JAX random key, e.g. "
                       r"jax.random.key\(0\)"):
      pconvgan.init(bad)
    with pytest.raises(ValueError, match="key must be a JAX random key"):
      pconvgan.init_discriminator(bad, (64, 64))
  # Both kinds of key are keys.
  for key in (jax.random.key(0), jax.random.PRNGKey(0)):
    jax.eval_shape(lambda k: pconvgan.init(k, {"width": 0.125}), key)


def test_shipped_weights_without_their_config_say_to_pass_it():
  variables, config = pconvgan.pretrained()
  if not config.refine:
    pytest.skip("the shipped model has no refinement head")
  with pytest.raises(ValueError, match=r"pass the config that came with them "
                     r"\(variables, config = pconvgan.pretrained\(\)"):
    pconvgan.apply(variables, np.zeros((1, 32, 32, 3), np.float32),
                   np.ones((1, 32, 32, 1), np.float32))
