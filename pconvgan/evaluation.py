"""Evaluation of checkpoints and classical baselines on the same images and masks.

Each method fills the same test images with the same masks (evaluation masks
depend only on the image index and the mask seed); metrics are computed on
the composites, overall and per hole-ratio bucket (Liu et al.'s six).
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Callable, Sequence

import jax
import numpy as np
from tqdm import tqdm

from pconvgan import checks
from pconvgan import data
from pconvgan import generator
from pconvgan import lpips
from pconvgan import masks as masks_lib
from pconvgan import metrics
from pconvgan import poisson
from pconvgan import reporting
from pconvgan import weights

COLUMNS = (("hole_l1", "hole L1 %", ".2f"), ("psnr", "PSNR dB", ".2f"),
           ("ssim", "SSIM", ".4f"), ("lpips", "LPIPS", ".4f"),
           ("sharpness", "sharpness", ".3f"),
           ("colour_shift", "colour shift", ".2f"),
           ("checkerboard", "checkerboard", ".2f"))


def _opencv(image: np.ndarray, mask: np.ndarray, method: str) -> np.ndarray:
  import cv2  # pylint: disable=import-outside-toplevel
  rgb = np.uint8(np.round(np.clip(image, 0, 1) * 255))
  hole = np.uint8(metrics.hole_pixels(mask)) * 255
  flag = cv2.INPAINT_TELEA if method == "telea" else cv2.INPAINT_NS
  return cv2.inpaint(rgb, hole, 3, flag).astype(np.float32) / 255.0


def telea(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
  """OpenCV's Telea inpainting (radius 3) on 8-bit RGB."""
  return _opencv(image, mask, "telea")


def navier_stokes(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
  """OpenCV's Navier-Stokes inpainting (radius 3) on 8-bit RGB."""
  return _opencv(image, mask, "ns")


def biharmonic(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
  """scikit-image's biharmonic inpainting, per channel."""
  from skimage.restoration import inpaint_biharmonic  # pylint: disable=import-outside-toplevel
  hole = metrics.hole_pixels(mask)
  if not hole.any():
    return np.asarray(image, np.float32)
  out = inpaint_biharmonic(np.asarray(image, np.float64), hole, channel_axis=-1)
  return np.clip(out, 0, 1).astype(np.float32)


# The classical baselines: name -> fill(image (H, W, 3), mask (H, W, 1)).
BASELINES = {"mean colour": metrics.mean_fill, "OpenCV Telea": telea,
             "OpenCV NS": navier_stokes, "biharmonic": biharmonic}


@dataclasses.dataclass
class Model:
  """A checkpoint to evaluate."""
  name: str
  variables: dict
  config: generator.GeneratorConfig
  step: int
  run_config: dict  # the config the checkpoint was trained with
  workdir: str


def load_models(paths: Sequence[str | None]) -> list[Model]:
  """Each generator: a weights file, a train.py checkpoint (only the
  generator is restored) or ``None`` for the shipped model; named by file,
  or by workdir and step."""
  models = []
  for path in paths:
    variables, g_config, run_config, name, step, workdir = weights.load_any(path)
    models.append(Model(name, variables, g_config, step, run_config, workdir))
  names = [m.name for m in models]
  for i, m in enumerate(models):
    if names.count(m.name) > 1:
      m.name = f"{m.name}#{i + 1}"
  return models


def bucket_of(ratio: float) -> str:
  """Liu et al.'s bucket '(low, high]' of a hole ratio, or 'other'."""
  for low, high in masks_lib.LIU_BUCKETS:
    if low < ratio <= high:
      return f"({low:g}, {high:g}]"
  return "other"


def evaluate(models: Sequence[Model], loader, *,
             baselines: Sequence[str] | bool = True, with_lpips: bool = True,
             grid_count: int = 4, grid_stride: int = 1, ensemble: int = 1,
             with_poisson: bool = False, progress: bool = True) -> dict:
  """Metrics of every method over ``loader``'s batches, and a sample grid.

  ``baselines``: names from BASELINES (True: all, False: none).
  ``ensemble``: each model's output averaged over that many flips and
  transpositions (named "NAME x8" for 8). ``with_poisson``: each model's
  fill also Poisson-blended into the image ("NAME + Poisson"; see
  pconvgan.poisson). The grid
  shows examples 0, ``grid_stride``, 2 ``grid_stride``, ... (``grid_count``).
  Unreadable images are left out and counted. Returns {'overall': {method:
  summary}, 'buckets': {bucket: {method: summary}}, 'grid': uint8 array,
  'methods': [...], 'unreadable': count}.
  """
  if grid_count < 0 or grid_stride < 1:
    raise ValueError(f"grid_count must be >= 0 and grid_stride >= 1, got "
                     f"{grid_count} and {grid_stride}")
  fills: dict[str, Callable] = {}
  for m in models:
    fn = jax.jit(lambda x, k, v=m.variables, c=m.config:
                 generator.apply_generator(v, x, k, config=c, ensemble=ensemble))
    name = m.name if ensemble == 1 else f"{m.name} x{ensemble}"
    fills[name] = lambda images, masks_, fn=fn: np.asarray(fn(images, masks_))
  blended = ({f"{name} + Poisson": name for name in fills}
             if with_poisson else {})  # the models' names, before the baselines
  if baselines is True:
    baselines = list(BASELINES)
  for name in baselines or ():
    if name not in BASELINES:
      raise ValueError(f"unknown baseline {name!r}; known: {list(BASELINES)}")
    fills[name] = lambda images, masks_, f=BASELINES[name]: np.stack(
        [f(i, k) for i, k in zip(images, masks_)])
  methods = list(fills) + list(blended)
  overall = {name: metrics.Accumulator() for name in methods}
  buckets: dict[str, dict[str, metrics.Accumulator]] = {}
  grid_rows, seen, unreadable = [], 0, 0
  for batch in tqdm(loader, desc="evaluating", unit="batch", disable=not progress):
    readable = np.asarray(batch["skipped"]) == 0
    unreadable += int((~readable).sum())
    if not readable.any():
      continue
    images, masks_ = batch["image"][readable], batch["mask"][readable]
    raw = {name: fill(images, masks_) for name, fill in fills.items()}
    filled = {name: metrics.composite(out, images, masks_)
              for name, out in raw.items()}
    for name, model in blended.items():  # from the model's whole output
      filled[name] = np.stack([poisson.blend(o, i, k) for o, i, k in
                               zip(raw[model], images, masks_)])
    nan = np.full(len(images), np.nan)
    perceptual = {name: lpips.distance(f, images) if with_lpips else nan
                  for name, f in filled.items()}
    for i in range(len(images)):
      bucket = buckets.setdefault(
          bucket_of(masks_lib.hole_ratio(masks_[i])),
          {name: metrics.Accumulator() for name in methods})
      for name in methods:
        args = (filled[name][i], images[i], masks_[i], float(perceptual[name][i]))
        overall[name].add(*args)
        bucket[name].add(*args)
      if len(grid_rows) < grid_count and (seen + i) % grid_stride == 0:
        grid_rows.append([reporting.masked_input(images[i], masks_[i])]
                         + [filled[n][i] for n in methods] + [images[i]])
    seen += len(images)
  if not seen:
    raise ValueError(f"none of the {unreadable} test images could be read "
                     "(each is named above)")
  return {"methods": methods, "unreadable": unreadable,
          "overall": {n: a.summary() for n, a in overall.items()},
          "buckets": {b: {n: a.summary() for n, a in accs.items()}
                      for b, accs in sorted(buckets.items())},
          "grid": reporting.image_grid(grid_rows) if grid_rows else None}


def finite_or_none(tree):
  """``tree`` (dicts, lists, numbers) with NaN and infinities as None: JSON
  has no NaN."""
  if isinstance(tree, dict):
    return {k: finite_or_none(v) for k, v in tree.items()}
  if isinstance(tree, (list, tuple)):
    return [finite_or_none(v) for v in tree]
  if isinstance(tree, (float, np.floating)) and not np.isfinite(tree):
    return None
  return tree


def write_metrics_json(path: str, description: str, results: dict) -> None:
  """eval.py's metrics.json: the description and the overall and per-bucket
  summaries of ``results`` (``evaluate``'s), strict JSON (null where a
  metric was not computed)."""
  record = {"description": description, "overall": results["overall"],
            "buckets": results["buckets"]}
  with open(path, "w") as f:
    json.dump(finite_or_none(record), f, indent=2, allow_nan=False)


def markdown_table(summaries: dict) -> str:
  """A Markdown table, one row per method; a metric that was not computed
  (NaN for every method, e.g. LPIPS with --nolpips) has no column."""
  columns = [c for c in COLUMNS if any(
      np.isfinite(s[c[0]]) for s in summaries.values())] or list(COLUMNS)
  header = "| method | images | " + " | ".join(c[1] for c in columns) + " |"
  lines = [header, "|" + "---|" * (len(columns) + 2)]
  for name, s in summaries.items():
    cells = [format(s[key], fmt) for key, _, fmt in columns]
    lines.append(f"| {name} | {s['images']} | " + " | ".join(cells) + " |")
  return "\n".join(lines)


def report(results: dict, description: str) -> str:
  """The Markdown report: overall table, then one table per bucket if several."""
  parts = [f"# Evaluation\n\n{description}\n", "## All images\n",
           markdown_table(results["overall"])]
  if len(results["buckets"]) > 1:
    for bucket, summaries in results["buckets"].items():
      parts += [f"\n## Hole ratio {bucket}\n", markdown_table(summaries)]
  lpips_shown = any(np.isfinite(s["lpips"])
                    for s in results["overall"].values())
  parts.append(
      "\nhole L1: mean absolute error in the hole (%); PSNR, SSIM"
      + (", LPIPS (AlexNet; lower is better)" if lpips_shown else "")
      + ": whole composite; sharpness: gradient "
      "energy in the hole relative to the ground truth's (below 1: blur); "
      "colour shift: distance of the hole's mean colour from the ground "
      "truth's (8-bit levels); checkerboard: energy of period-2 patterns in "
      "the hole relative to the ground truth's (above 1: a pattern the "
      "photograph lacks).")
  return "\n".join(parts) + "\n"


def test_images(run_config: dict, data_dir: str = "", mask_kind: str = "",
                limit: int = 0) -> tuple[list[str], data.DataConfig, dict]:
  """(image paths, DataConfig, mask config) of an evaluation: the images of
  ``data_dir`` (else the test split of ``run_config``, a checkpoint's
  config), with the run's masks unless ``mask_kind`` names a kind or a mask
  folder; the first ``limit`` images if it is set. Bad masks are refused
  here, before any work."""
  if "data" not in run_config and not data_dir:
    raise ValueError("--data DIR is needed: the model to evaluate names no "
                     "test set of its own")
  data_cfg = checks.as_config(data.DataConfig, dict(run_config.get("data", {})))
  mask_cfg = dict(run_config.get("mask", {}))
  if mask_kind in masks_lib.KINDS[:-1]:
    mask_cfg["kind"] = mask_kind
  elif mask_kind:
    folder = os.path.expanduser(mask_kind)
    kinds = ", ".join(masks_lib.KINDS[:-1])
    if os.path.isfile(folder):
      raise ValueError(f"--masks {mask_kind} is a file: give a folder of mask "
                       f"images or a kind ({kinds})")
    if not os.path.isdir(folder):
      looks_like_path = os.sep in mask_kind or mask_kind.startswith((".", "~"))
      raise ValueError(
          f"--masks {mask_kind}: no such folder" if looks_like_path else
          f"--masks {mask_kind}: neither a kind of mask ({kinds}) nor a "
          "folder of mask images")
    mask_cfg.update(kind="folder", folder=folder)
  # Every field, defaults included: reports name the kind of mask.
  mask_cfg = dataclasses.asdict(checks.as_config(masks_lib.MaskConfig,
                                                 mask_cfg))
  paths = (data.list_images(data_dir) if data_dir
           else data.split_sources(data_cfg)[1])
  return (paths[:limit] if limit else paths), data_cfg, mask_cfg


def default_out_dir(workdir: str | None, mask_config: dict) -> str:
  """Where eval.py writes when --out is not given: ``eval/<masks>`` in the
  checkpoint's workdir (the current folder for the shipped model), one
  folder per kind of mask, so that evaluations with different masks do not
  overwrite each other."""
  cfg = checks.as_config(masks_lib.MaskConfig, dict(mask_config))  # defaults
  name = cfg.kind
  if cfg.kind == "folder":
    name = os.path.basename(os.path.normpath(cfg.folder)) or "folder"
  return os.path.join(workdir or "", "eval", name)
