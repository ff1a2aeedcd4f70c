"""Every shipped config trains: one step of each of its phases, at a tiny
size, on the built-in photographs (what each config sets beyond size and
data is kept: losses, masks, discriminators, convolutions, the head, the
moving average, the shipped model as a start)."""

import importlib
import json
import os

import jax
import numpy as np
import pytest

import tiny_config
from pconvgan import training

CONFIGS = sorted(f[:-3] for f in os.listdir(
    os.path.join(os.path.dirname(__file__), "..", "configs"))
    if f.endswith(".py") and not f.startswith("_"))
# tests/tiny_config.py is configs/base.py at a tiny size: the training tests
# run its three phases already.
RUN_HERE = [c for c in CONFIGS if c != "base"]


def tiny(config):
  """``config`` at 32 px on the demo photographs, one step per phase it runs;
  the model keeps its width where it starts from the shipped weights."""
  config = tiny_config.shrink(config,
                              model_width=not config.train.get("init_from"))
  # The tiny runs' batch: configs that differ from tiny_config only in data,
  # masks or phases then run the programs the session has compiled already.
  config.train.batch_size = tiny_config.get_config().train.batch_size
  config.train.phase_steps = tuple(min(n, 1) for n in config.train.phase_steps)
  config.train.checkpoint_every = 100
  return config


def test_every_config_is_listed_here():
  assert {"base", "demo", "freeform", "mse_only", "no_local", "plain_conv",
          "photos", "photos_adv", "photos_finetune",
          "photos_refine"} <= set(CONFIGS)


@pytest.mark.slow
@pytest.mark.parametrize("name", RUN_HERE)
def test_config_runs_a_step_of_each_phase(name, tmp_path):
  config = tiny(importlib.import_module(f"configs.{name}").get_config())
  want = sum(config.train.phase_steps)
  assert want > 0
  training.train(config, str(tmp_path), devices=jax.devices()[:1],
                 progress=False)
  with open(tmp_path / "metrics.jsonl", encoding="utf-8") as f:
    rows = [json.loads(line) for line in f]
  steps = [r for r in rows if "step" in r and "phase" in r]
  assert len(steps) == want, rows
  for row in steps:
    values = [v for k, v in row.items() if isinstance(v, float)]
    assert values and np.all(np.isfinite(values)), row
