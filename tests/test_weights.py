"""Weights files: round trip, float16, refusal of foreign files, the shipped model."""

import os
import subprocess
import sys

import jax
import numpy as np
import pytest

import pconvgan
from pconvgan import weights

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CFG = pconvgan.GeneratorConfig(width=0.125)


def test_round_trip_gives_the_same_outputs(tmp_path):
  variables = pconvgan.init(jax.random.key(0), CFG)
  path = str(tmp_path / "g.msgpack")
  weights.save(path, variables, CFG, {"step": 7})
  loaded, config, meta = weights.load(path)
  assert config == CFG and meta == {"step": 7}
  image = jax.random.uniform(jax.random.key(1), (2, 32, 32, 3))
  mask = np.ones((2, 32, 32, 1), np.float32)
  mask[:, 8:20, 4:12] = 0
  np.testing.assert_array_equal(pconvgan.apply(variables, image, mask, config=CFG),
                                pconvgan.apply(loaded, image, mask, config=config))


def test_float16_refuses_values_it_cannot_hold(tmp_path):
  variables = pconvgan.init(jax.random.key(0), CFG)
  stats = variables["batch_stats"]
  layer = sorted(stats)[0]
  stats[layer]["var"] = stats[layer]["var"].at[0].set(1e6)
  path = str(tmp_path / "h.msgpack")
  with pytest.raises(ValueError, match=rf"{layer}.*var.*float16.*1e\+06"):
    weights.save(path, variables, CFG, dtype=np.float16)
  assert not os.path.exists(path)
  weights.save(path, variables, CFG)  # float32 holds it
  assert weights.load(path)[0]["batch_stats"][layer]["var"][0] == 1e6


def test_float16_halves_the_file_and_stays_close(tmp_path):
  variables = pconvgan.init(jax.random.key(0), CFG)
  full, half = str(tmp_path / "f.msgpack"), str(tmp_path / "h.msgpack")
  weights.save(full, variables, CFG)
  weights.save(half, variables, CFG, dtype=np.float16)
  assert os.path.getsize(half) < 0.6 * os.path.getsize(full)
  loaded, _, _ = weights.load(half)
  for a, b in zip(jax.tree.leaves(variables), jax.tree.leaves(loaded)):
    assert b.dtype == np.float32
    np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4)


def test_foreign_and_mismatched_files_are_refused(tmp_path):
  bad = tmp_path / "bad.msgpack"
  bad.write_bytes(b"not msgpack at all")
  with pytest.raises(ValueError, match="not a pconvgan weights file"):
    weights.load(str(bad))
  with pytest.raises(FileNotFoundError, match="weights file not found"):
    weights.load(str(tmp_path / "none.msgpack"))
  # Weights of a 1/8-width model labelled as full width.
  data = weights.to_bytes(pconvgan.init(jax.random.key(0), CFG), CFG)
  other = data.replace(b'"width": 0.125', b'"width": 1.000')
  with pytest.raises(ValueError, match="shape"):
    weights.from_bytes(other, "relabelled")


@pytest.mark.parametrize("photo", ["coffee.jpg", "brick.jpg"])
def test_shipped_model_beats_telea_on_bundled_photos(photo):
  """pretrained() loads without Orbax and fills four 40 px squares with
  smaller errors and less colour shift than OpenCV's Telea (coffee.jpg is
  held out of its training; brick.jpg is texture). A wrong activation slope
  in the decoder fails it."""
  from pconvgan import data, evaluation, inpaint_photos, metrics  # pylint: disable=import-outside-toplevel
  variables, config = pconvgan.pretrained()
  assert set(variables) == {"params", "batch_stats"}
  image = np.asarray(data.load_image(os.path.join(data.demo_folder(), photo)),
                     np.float32) / 255
  h, w = image.shape[:2]
  hole = np.zeros((h, w), bool)
  rng = np.random.default_rng(0)
  for _ in range(4):
    y, x = rng.integers(0, h - 48), rng.integers(0, w - 48)
    hole[y:y + 40, x:x + 40] = True
  filled = inpaint_photos.fill(variables, image, hole, config=config)
  np.testing.assert_array_equal(filled[~hole], image[~hole])
  mask = (~hole)[..., None].astype(np.float32)
  telea = evaluation.telea(image, mask)
  model_l1 = metrics.hole_l1(filled, image, mask)
  assert model_l1 < metrics.hole_l1(telea, image, mask), model_l1
  assert model_l1 < 0.8 * metrics.hole_l1(metrics.mean_fill(image, mask),
                                          image, mask), model_l1
  shift = metrics.colour_shift(filled, image, mask)
  assert shift < metrics.colour_shift(telea, image, mask), shift
  assert weights.pretrained_meta()["step"] > 0


@pytest.mark.slow
def test_quick_start_command_runs_as_written(tmp_path):
  out = tmp_path / "coffee_filled.png"
  result = subprocess.run(
      [sys.executable, "-m", "pconvgan.inpaint_photos", "--image",
       "pconvgan/demo_data/coffee.jpg", "--mask",
       "pconvgan/examples/coffee_mask.png", "--out", str(out)],
      cwd=ROOT, capture_output=True, text=True, timeout=300)
  assert result.returncode == 0, result.stderr[-2000:]
  assert "model pretrained" in result.stdout
  from PIL import Image  # pylint: disable=import-outside-toplevel
  filled = np.asarray(Image.open(out))
  original = np.asarray(Image.open(os.path.join(ROOT, "pconvgan/demo_data/coffee.jpg")))
  hole = np.asarray(Image.open(os.path.join(ROOT, "pconvgan/examples/coffee_mask.png"))) > 127
  assert filled.shape == original.shape
  assert np.abs(filled[~hole].astype(int) - original[~hole]).max() == 0
  assert np.abs(filled[hole].astype(int) - original[hole]).mean() > 5
