r"""Evaluates checkpoints against classical baselines on the same images and masks.

    python eval.py --data photos/ --masks paper      # the shipped model
    python eval.py --ckpt runs/demo
    python eval.py --ckpt runs/base --ckpt runs/mse_only --ckpt runs/no_local \
        --ckpt runs/plain_conv --data /data/places365/val_256 --masks freeform

Restores only the generators (without --ckpt: the model that ships with
pconvgan; --ckpt also takes a .msgpack weights file). Test images: --data
DIR, or the test split of the first checkpoint's config (or of --config).
Masks: paper, box, freeform (Liu et al.'s six hole-ratio buckets in turn) or
a folder of mask images (white = hole); by default the first checkpoint's.
Reports hole L1 (%), PSNR, SSIM, LPIPS, sharpness, colour shift and
checkerboard of each checkpoint and of the classical baselines (mean colour,
OpenCV Telea and Navier-Stokes, scikit-image's biharmonic), overall and per
bucket, and writes metrics.json (metrics not computed, e.g. LPIPS with
--nolpips, are null), results.md and grid.png to --out.
"""

import os
import sys

from absl import app
from absl import flags
from absl import logging
from ml_collections import config_flags

from pconvgan import checkpoint
from pconvgan import cli
from pconvgan import data
from pconvgan import dihedral
from pconvgan import evaluation
from pconvgan import files
from pconvgan import reporting

_CKPT = flags.DEFINE_multi_string(
    "ckpt", None, "A train.py workdir, checkpoints folder, step folder or "
    ".msgpack weights file; repeat for several models in one table "
    "(default: the shipped model).")
_CONFIG = config_flags.DEFINE_config_file(
    "config", None, "Config whose data and mask sections define the test set "
    "(default: the first checkpoint's).")
_DATA = flags.DEFINE_string("data", None, "Folder of test images (all used).")
_MASKS = flags.DEFINE_string(
    "masks", None, "paper, box, freeform, mix, or a folder of mask images.")
_OUT = flags.DEFINE_string("out", None, "Output folder (default: "
                           "eval/<masks> in the first checkpoint's workdir, "
                           "or in the current folder for the shipped model).")
_LIMIT = flags.DEFINE_integer("limit", 0, "Evaluate the first N images only "
                              "(0: all).", lower_bound=0)
_BATCH = flags.DEFINE_integer("batch_size", 16, "Images per batch.",
                              lower_bound=1)
_MASK_SEED = flags.DEFINE_integer("mask_seed", 0, "Seed of the evaluation masks.")
_GRID = flags.DEFINE_integer("grid", 4, "Examples in grid.png (0: no grid).",
                             lower_bound=0)
_GRID_STRIDE = flags.DEFINE_integer(
    "grid_stride", 1, "grid.png shows every N-th example (spread the rows "
    "over the test set).", lower_bound=1)
_BASELINES = flags.DEFINE_list(
    "baselines", list(evaluation.BASELINES),
    f"Classical baselines to evaluate too, of {list(evaluation.BASELINES)} "
    "(empty: none).")
_LPIPS = flags.DEFINE_bool("lpips", True, "Compute LPIPS (AlexNet).")
_POISSON = flags.DEFINE_bool(
    "poisson", False, "Also score each model's output Poisson-blended into "
    "the image (Iizuka et al.'s post-processing; pconvgan.poisson).")
_ENSEMBLE = flags.DEFINE_enum(
    "ensemble", "1", [str(n) for n in dihedral.COUNTS],
    "Average each model's output over this many flips and transpositions.")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
  logging.set_verbosity(logging.WARNING)
  try:
    models = evaluation.load_models(_CKPT.value or [None])
    run_config = models[0].run_config
    if _CONFIG.value is not None:
      run_config = checkpoint.config_to_json(_CONFIG.value)
    paths, data_cfg, mask_cfg = evaluation.test_images(
        run_config, _DATA.value, _MASKS.value, _LIMIT.value)
    out = os.path.expanduser(_OUT.value or evaluation.default_out_dir(
        models[0].workdir if _CKPT.value else None, mask_cfg))
    problem = files.output_problem(out, folder=True)
    if problem:  # found before the evaluation, not after it
      raise ValueError(f"--out {out}: {problem}")
    loader = data.make_loader(
        paths, batch_size=_BATCH.value, image_size=data_cfg.image_size,
        mask_config=mask_cfg, train=False, mask_seed=_MASK_SEED.value,
        resize=data_cfg.resize, shard_index=0, shard_count=1)
    results = evaluation.evaluate(models, loader, baselines=_BASELINES.value,
                                  with_lpips=_LPIPS.value,
                                  grid_count=_GRID.value,
                                  grid_stride=_GRID_STRIDE.value,
                                  ensemble=int(_ENSEMBLE.value),
                                  with_poisson=_POISSON.value)
  except (ValueError, FileNotFoundError) as e:
    print(f"eval.py: error: {e}", file=sys.stderr)
    sys.exit(1)
  os.makedirs(out, exist_ok=True)
  unreadable = results["unreadable"]
  description = (
      f"{len(paths) - unreadable} images at {data_cfg.image_size} px, "
      f"shorter side scaled to {data_cfg.resize or data_cfg.image_size} and "
      "centre-cropped "
      + (f"({unreadable} unreadable, left out) " if unreadable else "") +
      f"({_DATA.value or 'test split of ' + models[0].name}), "
      f"{mask_cfg['kind']} masks (seed {_MASK_SEED.value}). Grid columns: "
      f"masked input | {' | '.join(results['methods'])} | ground truth.")
  text = evaluation.report(results, description)
  with open(os.path.join(out, "results.md"), "w") as f:
    f.write(text)
  evaluation.write_metrics_json(os.path.join(out, "metrics.json"),
                                description, results)
  if results["grid"] is not None:
    labels = ["masked input", *results["methods"], "ground truth"]
    reporting.save_png(os.path.join(out, "grid.png"), reporting.label_columns(
        results["grid"], labels, data_cfg.image_size))
  print(text)
  written = "results.md, metrics.json" + (
      ", grid.png" if results["grid"] is not None else "")
  print(f"wrote {out}/{written}")


if __name__ == "__main__":
  app.run(main, flags_parser=cli.flags_parser("eval.py"))
