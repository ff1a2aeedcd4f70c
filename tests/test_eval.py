"""eval.py end to end on a tiny checkpoint, and the evaluation helpers."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from pconvgan import data
from pconvgan import evaluation
from pconvgan import masks as masks_lib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def noise_folder(folder, count):
  """``count`` 48x40 PNGs of random pixels in a new ``folder``."""
  os.makedirs(folder)
  rng = np.random.default_rng(0)
  for i in range(count):
    Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)).save(
        folder / f"{i}.png")
  return folder


@pytest.mark.slow
def test_eval_end_to_end_with_two_checkpoints_and_baselines(tiny_checkpoint,
                                                            tmp_path):
  images = noise_folder(tmp_path / "images", 6)
  out = tmp_path / "out"
  result = subprocess.run(
      [sys.executable, "eval.py", "--ckpt", tiny_checkpoint, "--ckpt",
       os.path.join(tiny_checkpoint, "checkpoints", "1"), "--data", str(images), "--masks", "freeform",
       "--batch_size", "4", "--out", str(out), "--grid", "3"],
      cwd=ROOT, capture_output=True, text=True, timeout=300)
  assert result.returncode == 0, result.stderr[-2000:]
  summary = json.loads((out / "metrics.json").read_text())
  methods = list(summary["overall"])
  assert methods[2:] == ["mean colour", "OpenCV Telea", "OpenCV NS",
                         "biharmonic"]
  assert methods[0] != methods[1]  # the same checkpoint twice, told apart
  assert "@1" in methods[1]  # a step folder is a checkpoint too
  for s in summary["overall"].values():
    assert s["images"] == 6
    assert all(np.isfinite(s[k]) for k in ("hole_l1", "psnr", "ssim", "lpips",
                                           "colour_shift", "checkerboard"))
  # Freeform masks take Liu et al.'s buckets in turn: six images, six buckets.
  assert len(summary["buckets"]) == 6
  assert all(b["mean colour"]["images"] == 1 for b in summary["buckets"].values())
  report = (out / "results.md").read_text()
  assert "| OpenCV Telea | 6 |" in report and "## Hole ratio (0.5, 0.6]" in report
  assert "6 images at 32 px, shorter side scaled to 32 and centre-cropped" in report
  grid = np.asarray(Image.open(out / "grid.png"))
  # 3 rows; input, 6, truth; a 14 px band naming the columns on top.
  assert grid.shape == (14 + 3 * 34 + 2, 8 * 34 + 2, 3)


@pytest.mark.slow
def test_eval_refuses_a_missing_checkpoint(tmp_path):
  result = subprocess.run(
      [sys.executable, "eval.py", "--ckpt", str(tmp_path / "none")], cwd=ROOT,
      capture_output=True, text=True, timeout=300)
  assert result.returncode == 1
  assert f"checkpoint not found: {tmp_path / 'none'}" in result.stderr


def test_bucket_of():
  assert evaluation.bucket_of(0.05) == "(0.01, 0.1]"
  assert evaluation.bucket_of(0.1) == "(0.01, 0.1]"
  assert evaluation.bucket_of(0.1001) == "(0.1, 0.2]"
  assert evaluation.bucket_of(0.7) == "other"
  assert evaluation.bucket_of(0.0) == "other"
  assert evaluation.bucket_of(0.01) == "other"  # (low, high]: low is out


def test_telea_fills_only_the_hole():
  image = np.zeros((16, 16, 3), np.float32)
  image[:, 8:] = 1.0
  mask = np.ones((16, 16, 1), np.float32)
  mask[6:10, 6:10] = 0
  filled = evaluation.telea(image, mask)
  np.testing.assert_array_equal(filled[mask[..., 0] > 0], image[mask[..., 0] > 0])
  assert 0 < filled[6:10, 6:10].mean() < 1


@pytest.mark.parametrize("name", ["OpenCV NS", "biharmonic"])
def test_baselines_fill_only_the_hole_and_follow_a_ramp(name):
  # A horizontal ramp: diffusion-type methods continue it into the hole.
  image = np.tile(np.linspace(0, 1, 32, dtype=np.float32)[None, :, None],
                  (32, 1, 3))
  mask = np.ones((32, 32, 1), np.float32)
  mask[10:20, 12:20] = 0
  given = np.where(mask > 0, image, 0.0).astype(np.float32)  # no truth in it
  filled = evaluation.BASELINES[name](given, mask)
  known = mask[..., 0] > 0
  np.testing.assert_allclose(filled[known], image[known], atol=1 / 255)
  hole = ~known
  assert np.abs(filled[hole] - image[hole]).mean() < 0.05
  half = np.where(mask > 0, 1.0, 0.5).astype(np.float32)  # 0.5 is hole too
  np.testing.assert_array_equal(evaluation.BASELINES[name](given, half),
                                filled)
  # Known pixels a little outside [0, 1]: a fill in [0, 1] all the same.
  given[0, 0], given[1, 1] = 1.02, -0.02
  filled = evaluation.BASELINES[name](given, mask)
  assert filled.min() >= 0 and filled.max() <= 1


def test_test_images_from_a_folder_or_the_run_and_its_masks(tmp_path,
                                                            monkeypatch):
  demo = data.demo_folder()
  with pytest.raises(ValueError, match="--data DIR is needed"):
    evaluation.test_images({}, "", "paper")
  paths, data_cfg, mask_cfg = evaluation.test_images({}, demo, "freeform", 3)
  assert paths == data.list_images(demo)[:3]
  assert data_cfg.image_size == 128 and mask_cfg["kind"] == "freeform"
  run = {"data": {"source": "demo", "image_size": 64, "test_size": 2},
         "mask": {"kind": "box", "box_count": (2, 2)}}
  paths, data_cfg, mask_cfg = evaluation.test_images(run)
  assert len(paths) == 2 and data_cfg.image_size == 64
  # The run's own masks, every field given (reports name the kind).
  assert {k: mask_cfg[k] for k in run["mask"]} == run["mask"]
  assert mask_cfg == {**vars(masks_lib.MaskConfig()), **run["mask"]}
  _, _, mask_cfg = evaluation.test_images({"data": run["data"]})
  assert mask_cfg["kind"] == masks_lib.MaskConfig().kind
  with pytest.raises(ValueError, match=r"--masks freefrom: neither a kind of "
                     r"mask \(paper, box, freeform, mix\) nor a folder"):
    evaluation.test_images(run, mask_kind="freefrom")
  _, _, mask_cfg = evaluation.test_images(run, mask_kind=str(tmp_path))
  assert mask_cfg["kind"] == "folder" and mask_cfg["folder"] == str(tmp_path)
  for kind in masks_lib.KINDS[:-1]:  # every kind but "folder" by its name
    assert evaluation.test_images(run, mask_kind=kind)[2]["kind"] == kind
  monkeypatch.chdir(tmp_path)  # where ./masks and ~/masks do not exist
  monkeypatch.setenv("HOME", str(tmp_path))
  for path in ("no/such/masks", "./masks", "~/masks"):
    with pytest.raises(ValueError, match=f"--masks {path}: no such folder$"):
      evaluation.test_images(run, mask_kind=path)
  with pytest.raises(ValueError, match="mask kind must be one of"):
    evaluation.test_images({"mask": {"kind": "circles"}}, demo)


def test_a_metric_not_computed_has_no_column():
  row = {"images": 2, **{key: 1.0 for key, _, _ in evaluation.COLUMNS}}
  table = evaluation.markdown_table({"a": row, "b": dict(row)})
  assert "LPIPS" in table and "nan" not in table
  no_lpips = {**row, "lpips": float("nan")}
  table = evaluation.markdown_table({"a": no_lpips, "b": dict(no_lpips)})
  assert "LPIPS" not in table and "nan" not in table
  assert table.splitlines()[0].count("|") == len(evaluation.COLUMNS) + 2
  # Nor a line in the legend.
  for summary, shown in ((row, True), (no_lpips, False)):
    text = evaluation.report({"overall": {"a": summary}, "buckets": {}}, "d")
    assert ("LPIPS (AlexNet" in text) == shown
    assert "PSNR, SSIM" in text and "hole L1: mean absolute error" in text


def test_grid_columns_are_labelled():
  from pconvgan import reporting
  grid = reporting.image_grid([[np.zeros((8, 8, 3))] * 3])
  labelled = reporting.label_columns(grid, ["in", "model", "truth"], 8)
  assert labelled.shape == (grid.shape[0] + 14, grid.shape[1], 3)
  np.testing.assert_array_equal(labelled[14:], grid)
  assert labelled[:14].min() < 128  # some text drawn


def test_each_kind_of_mask_gets_its_own_default_output_folder(tmp_path):
  want = {kind: os.path.join("eval", kind)
          for kind in ("paper", "box", "freeform", "mix")}
  for kind, path in want.items():
    assert evaluation.default_out_dir(None, {"kind": kind}) == path
    assert (evaluation.default_out_dir("/runs/a", {"kind": kind})
            == os.path.join("/runs/a", path))
  masks_dir = str(tmp_path / "my_masks") + os.sep  # a trailing slash too
  assert evaluation.default_out_dir(
      "w", {"kind": "folder", "folder": masks_dir}) == os.path.join(
          "w", "eval", "my_masks")
  assert evaluation.default_out_dir(None, {}) == os.path.join(
      "eval", masks_lib.MaskConfig().kind)
  with pytest.raises(ValueError, match="mask kind must be one of"):
    evaluation.default_out_dir(None, {"kind": "circles"})


def test_evaluate_with_an_ensemble_scores_the_averaged_fills(tiny_checkpoint):
  """The 'x2' row is the metric of apply(..., ensemble=2)'s composites."""
  from pconvgan import generator
  from pconvgan import metrics
  models = evaluation.load_models([tiny_checkpoint])
  paths, data_cfg, mask_cfg = evaluation.test_images(
      {}, data.demo_folder(), "freeform", 4)
  loader = data.make_loader(paths, batch_size=4, image_size=32,
                            mask_config=mask_cfg, train=False, mask_seed=0,
                            resize=data_cfg.resize, shard_index=0, shard_count=1)
  results = evaluation.evaluate(models, loader, baselines=False,
                                with_lpips=False, grid_count=0, ensemble=2,
                                progress=False)
  (name,) = results["overall"]
  assert name == f"{models[0].name} x2"
  batch = next(iter(loader))
  images, masks_ = np.asarray(batch["image"]), np.asarray(batch["mask"])
  out = generator.apply_generator(models[0].variables, images, masks_,
                                  config=models[0].config, ensemble=2)
  filled = metrics.composite(np.asarray(out), images, masks_)
  want = np.mean([metrics.hole_l1(f, i, k) for f, i, k in
                  zip(filled, images, masks_)])
  assert np.isclose(results["overall"][name]["hole_l1"], want, rtol=1e-4)
  single = evaluation.evaluate(models, loader, baselines=False,
                               with_lpips=False, grid_count=0, progress=False)
  assert single["overall"][models[0].name]["hole_l1"] != want


def test_evaluate_scores_composites_against_direct_metric_calls(tiny_checkpoint):
  """evaluate() against the metrics computed here, image by image, on
  composites built by hand (known pixels of the truth, the model's output in
  the hole) and LPIPS of each composite against its truth."""
  from pconvgan import generator, lpips, metrics, poisson
  model = evaluation.load_models([tiny_checkpoint])[0]
  rng = np.random.default_rng(3)
  images = rng.uniform(0.1, 0.9, (5, 32, 32, 3)).astype(np.float32)
  masks_ = np.ones((5, 32, 32, 1), np.float32)
  for i, (top, size) in enumerate([(2, 6), (4, 10), (8, 14), (1, 20), (3, 9)]):
    masks_[i, top:top + size, 5:5 + size] = 0
  batches = [{"image": images[:3], "mask": masks_[:3],
              "skipped": np.zeros(3, np.int32)},
             {"image": images[3:], "mask": masks_[3:],
              "skipped": np.zeros(2, np.int32)}]
  results = evaluation.evaluate([model], batches, baselines=["mean colour"],
                                grid_count=0, with_poisson=True, progress=False)
  output = np.asarray(generator.apply_generator(
      model.variables, images, masks_, config=model.config))
  blended = np.stack([poisson.blend(o, i, m) for o, i, m in zip(
      output, images, masks_)])
  assert results["methods"] == [model.name, "mean colour",
                                f"{model.name} + Poisson"]
  for name, fills in ((model.name, output),
                      ("mean colour", np.stack([metrics.mean_fill(i, m) for i, m
                                                in zip(images, masks_)])),
                      (f"{model.name} + Poisson", blended)):
    composite = np.where(masks_ > 0.5, images, fills)
    if name == model.name:  # its raw output differs from the composite
      assert not np.allclose(composite, fills)
    want = {
        "hole_l1": np.mean([metrics.hole_l1(c, t, m) for c, t, m in
                            zip(composite, images, masks_)]),
        "psnr": np.mean([metrics.psnr(c, t) for c, t in zip(composite, images)]),
        "ssim": np.mean([metrics.ssim(c, t) for c, t in zip(composite, images)]),
        "colour_shift": np.mean([metrics.colour_shift(c, t, m) for c, t, m in
                                 zip(composite, images, masks_)]),
        "lpips": np.mean(lpips.distance(composite, images)),
        "sharpness": sum(metrics.gradient_energy(c, m) for c, m in
                         zip(composite, masks_)) / sum(
            metrics.gradient_energy(t, m) for t, m in zip(images, masks_)),
        "checkerboard": sum(metrics.checkerboard_energy(c, m) for c, m in
                            zip(composite, masks_)) / sum(
            metrics.checkerboard_energy(t, m) for t, m in zip(images, masks_)),
    }
    got = results["overall"][name]
    assert got["images"] == 5 and want["lpips"] > 0.01
    for key, value in want.items():
      np.testing.assert_allclose(got[key], value, rtol=1e-4, err_msg=key)
    # Per bucket of Liu et al.'s hole ratios (36, 100, 196, 400 and 81 of
    # 1024 pixels): the images of each, by hand.
    for bucket, members in (("(0.01, 0.1]", [0, 1, 4]), ("(0.1, 0.2]", [2]),
                            ("(0.3, 0.4]", [3])):
      part = results["buckets"][bucket][name]
      assert part["images"] == len(members), bucket
      np.testing.assert_allclose(part["hole_l1"], np.mean(
          [metrics.hole_l1(composite[i], images[i], masks_[i])
           for i in members]), rtol=1e-5, err_msg=bucket)
    assert sorted(results["buckets"]) == ["(0.01, 0.1]", "(0.1, 0.2]",
                                          "(0.3, 0.4]"]


def test_metrics_json_is_strict_json_with_null_for_what_was_not_computed(
    tmp_path):
  summary = {"images": 3, "hole_l1": 5.0, "psnr": float("inf"),
             "lpips": np.float64("nan")}
  results = {"overall": {"model": summary},
             "buckets": {"(0.1, 0.2]": {"model": dict(summary, images=1)}}}
  path = str(tmp_path / "metrics.json")
  evaluation.write_metrics_json(path, "three images", results)

  def refuse(constant):
    raise ValueError(f"not JSON: {constant}")
  record = json.loads(open(path).read(), parse_constant=refuse)
  assert record == {
      "description": "three images",
      "overall": {"model": {"images": 3, "hole_l1": 5.0, "psnr": None,
                            "lpips": None}},
      "buckets": {"(0.1, 0.2]": {"model": {"images": 1, "hole_l1": 5.0,
                                           "psnr": None, "lpips": None}}}}


@pytest.mark.slow
def test_eval_says_what_it_wrote_and_refuses_bad_outputs_first(
    tiny_checkpoint, tmp_path):
  images = noise_folder(tmp_path / "images", 2)
  base = [sys.executable, "eval.py", "--ckpt", tiny_checkpoint, "--data",
          str(images), "--masks", "paper", "--baselines", "", "--nolpips"]

  def evaluate(*args):
    return subprocess.run(base + list(args), cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
  result = evaluate("--grid", "0", "--out", str(tmp_path / "out"))
  assert result.returncode == 0, result.stderr[-2000:]
  assert result.stdout.strip().endswith(
      f"wrote {tmp_path / 'out'}/results.md, metrics.json")
  assert sorted(os.listdir(tmp_path / "out")) == ["metrics.json", "results.md"]
  a_file = images / "0.png"
  result = evaluate("--out", str(a_file / "out"))
  assert result.returncode == 1
  assert result.stderr.strip().endswith(
      f"eval.py: error: --out {a_file}/out: {a_file} is a file, not a folder")
  assert "|" not in result.stdout  # no results table: refused before the work
  result = evaluate("--limit", "-1")
  assert result.returncode != 0 and "--limit" in result.stderr
  assert "Traceback" not in result.stderr


def test_opencv_baselines_are_opencv_telea_and_ns_on_8_bit_pixels():
  import cv2
  rng = np.random.default_rng(5)
  image = rng.uniform(0, 1, (24, 24, 3)).astype(np.float32)
  image[0, 0] = 1.02  # over 1 (a resampled photograph): white, not wrapped
  image[0, 1] = -0.02  # and under 0: black
  mask = np.ones((24, 24, 1), np.float32)
  mask[6:16, 8:18] = 0
  rgb = np.uint8(np.round(np.clip(image, 0, 1) * 255))
  hole = np.uint8(mask[..., 0] == 0) * 255
  telea = evaluation.telea(image, mask)
  ns = evaluation.navier_stokes(image, mask)
  np.testing.assert_array_equal(
      telea, cv2.inpaint(rgb, hole, 3, cv2.INPAINT_TELEA) / np.float32(255))
  np.testing.assert_array_equal(
      ns, cv2.inpaint(rgb, hole, 3, cv2.INPAINT_NS) / np.float32(255))
  assert not np.array_equal(telea, ns)
  np.testing.assert_array_equal(telea[0, :2], [[1.0] * 3, [0.0] * 3])


def test_tables_have_as_many_cells_in_every_line():
  row = {"images": 2, **{key: 1.0 for key, _, _ in evaluation.COLUMNS}}
  for summary in (row, {**row, "lpips": float("nan")}):
    lines = evaluation.markdown_table({"a": summary, "b": summary}).splitlines()
    assert len({line.count("|") for line in lines}) == 1, lines
    assert set(lines[1].split("|")[1:-1]) == {"---"}
    assert [line.split("|")[1:3] for line in lines[2:]] == [
        [" a ", " 2 "], [" b ", " 2 "]]


def _two_batches(count=6):
  rng = np.random.default_rng(8)
  images = rng.uniform(0, 1, (count, 16, 16, 3)).astype(np.float32)
  masks_ = np.ones((count, 16, 16, 1), np.float32)
  for i in range(count):
    masks_[i, i:i + 5, 4:10] = 0
  half = count // 2
  return images, masks_, [
      {"image": images[:half], "mask": masks_[:half],
       "skipped": np.zeros(half, np.int32)},
      {"image": images[half:], "mask": masks_[half:],
       "skipped": np.zeros(count - half, np.int32)}]


@pytest.mark.parametrize("count,stride,rows", [(2, 2, [0, 2]),
                                               (3, 2, [0, 2, 4]),
                                               (2, 1, [0, 1]),
                                               (2, 4, [0, 4]),
                                               (None, None, [0, 1, 2, 3])])
def test_the_grid_shows_every_strideth_example_across_batches(count, stride,
                                                              rows):
  """None: the defaults, the first four examples."""
  from pconvgan import metrics, reporting
  images, masks_, batches = _two_batches()
  given = {"grid_count": count, "grid_stride": stride}
  results = evaluation.evaluate(
      [], batches, baselines=["mean colour"], with_lpips=False,
      progress=False, **{k: v for k, v in given.items() if v is not None})
  want = [[reporting.masked_input(images[i], masks_[i]),
           np.where(masks_[i] > 0.5, images[i],
                    metrics.mean_fill(images[i], masks_[i])), images[i]]
          for i in rows]
  np.testing.assert_array_equal(results["grid"], reporting.image_grid(want))
  assert results["unreadable"] == 0


def test_a_grid_stride_below_one_or_a_negative_count_is_refused():
  _, _, batches = _two_batches()
  for bad, shown in (({"grid_stride": 0}, "got 4 and 0"),
                     ({"grid_count": -1}, "got -1 and 1")):
    with pytest.raises(ValueError, match=f"grid_count must be >= 0 and "
                       f"grid_stride >= 1, {shown}"):
      evaluation.evaluate([], batches, baselines=[], with_lpips=False,
                          progress=False, **bad)
  results = evaluation.evaluate([], batches, baselines=["mean colour"],
                                with_lpips=False, progress=False, grid_count=0)
  assert results["grid"] is None


def test_unreadable_images_are_counted_and_left_out():
  from pconvgan import metrics
  images, masks_, batches = _two_batches()
  batches[0]["skipped"] = np.array([1, 1, 1], np.int32)  # then go on
  batches[1]["skipped"] = np.array([0, 1, 0], np.int32)
  results = evaluation.evaluate([], batches, baselines=["mean colour"],
                                with_lpips=False, grid_count=0,
                                progress=False)
  assert results["unreadable"] == 4
  got = results["overall"]["mean colour"]
  assert got["images"] == 2
  np.testing.assert_allclose(got["hole_l1"], np.mean(
      [metrics.hole_l1(np.where(masks_[i] > 0.5, images[i],
                                metrics.mean_fill(images[i], masks_[i])),
                       images[i], masks_[i]) for i in (3, 5)]), rtol=1e-5)
  for batch in batches:
    batch["skipped"] = np.ones_like(batch["skipped"])
  with pytest.raises(ValueError, match="none of the 6 test images"):
    evaluation.evaluate([], batches, baselines=["mean colour"],
                        with_lpips=False, progress=False)


def test_evaluate_runs_every_baseline_by_default_and_takes_options_by_name():
  _, _, batches = _two_batches()
  results = evaluation.evaluate([], batches, with_lpips=False, grid_count=0,
                                progress=False)
  assert results["methods"] == list(evaluation.BASELINES)
  with pytest.raises(TypeError):  # the options are keyword-only
    evaluation.evaluate([], batches, ["mean colour"])


def test_evaluate_shows_its_progress_unless_told_not_to(capfd):
  _, _, batches = _two_batches()
  evaluation.evaluate([], batches, baselines=["mean colour"],
                      with_lpips=False, grid_count=0)
  assert "evaluating" in capfd.readouterr().err
  evaluation.evaluate([], batches, baselines=["mean colour"],
                      with_lpips=False, grid_count=0, progress=False)
  assert "evaluating" not in capfd.readouterr().err


def test_models_of_the_same_name_are_numbered_from_one():
  name = evaluation.load_models([None])[0].name
  assert "#" not in name  # one model of a name keeps it
  assert [m.name for m in evaluation.load_models([None, None])] == [
      f"{name}#1", f"{name}#2"]


def test_metrics_json_is_indented_for_reading(tmp_path):
  path = str(tmp_path / "metrics.json")
  evaluation.write_metrics_json(path, "d", {"overall": {}, "buckets": {}})
  with open(path) as f:
    assert f.read().startswith('{\n  "description": "d",\n  "overall"')


@pytest.mark.parametrize("count", [1, 2, 3])
def test_the_report_has_a_table_per_bucket_when_there_are_several(count):
  row = {"images": 1, **{key: 1.0 for key, _, _ in evaluation.COLUMNS}}
  names = ["(0.01, 0.1]", "(0.1, 0.2]", "(0.2, 0.3]"][:count]
  results = {"overall": {"model": dict(row, images=count)},
             "buckets": {name: {"model": row} for name in names}}
  text = evaluation.report(results, "three")
  sections = text.split("\n## ")
  assert sections[1].startswith("All images\n")
  assert f"| model | {count} |" in sections[1]
  if count == 1:  # the one bucket is the whole table: not repeated
    assert len(sections) == 2
  else:
    assert [s.splitlines()[0] for s in sections[2:]] == [
        f"Hole ratio {name}" for name in names]
    for section in sections[2:]:
      assert "| model | 1 |" in section
