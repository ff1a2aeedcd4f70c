"""The run config: one statement of each default, every field commented."""

import dataclasses
import importlib
import os
import subprocess
import sys

import pytest

from configs import base
from pconvgan import config as config_lib
from pconvgan import generator
from pconvgan import training
from pconvgan import weights

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.parametrize("section", sorted(config_lib.SECTIONS))
def test_every_field_has_a_one_line_comment(section):
  comments = config_lib.field_comments(config_lib.SECTIONS[section])
  assert comments and all(comments.values()), {
      k: v for k, v in comments.items() if not v}


def test_field_comments_are_read_from_the_source():
  @dataclasses.dataclass
  class Example:
    documented: int = 3  # what it is
    tuple_field: tuple = (1, 2)  # a pair
    bare: str = ""
  assert config_lib.field_comments(Example) == {
      "documented": "what it is", "tuple_field": "a pair", "bare": ""}


def test_default_config_is_the_dataclass_defaults_and_parses():
  config = config_lib.default_config()
  run = config_lib.parse(config)
  for name, cls in config_lib.SECTIONS.items():
    assert getattr(run, name) == cls()
  assert set(config) == set(config_lib.SECTIONS) | {"seed"}


def test_the_paper_config_states_only_what_differs_from_the_defaults():
  paper, defaults = base.get_config().to_dict(), config_lib.default_config().to_dict()
  changed = {f"{s}.{k}" for s in config_lib.SECTIONS
             for k in defaults[s] if paper[s][k] != defaults[s][k]}
  assert changed == {"data.source", "data.train_size", "data.test_size",
                     "data.workers"}


@pytest.mark.slow
def test_the_field_listing_command():
  out = subprocess.run([sys.executable, "-m", "pconvgan.config"],
                       capture_output=True, text=True, check=True).stdout
  lines = out.splitlines()
  n_fields = 1 + sum(len(dataclasses.fields(c))
                     for c in config_lib.SECTIONS.values())
  assert len(lines) == n_fields
  assert "train.phase_steps = (25000, 6000, 94000)  # G only, D only, joint" in lines


def test_the_field_listing_of_a_config_file_marks_what_it_changes(capsys):
  assert config_lib.main([os.path.join(ROOT, "configs", "demo.py")]) == 0
  lines = capsys.readouterr().out.splitlines()
  assert len(lines) == 1 + sum(len(dataclasses.fields(c))
                               for c in config_lib.SECTIONS.values())
  assert ("train.batch_size = 8  # global batch over all devices (default 16)"
          in lines)
  assert "data.image_size = 64  # side of the square crops (default 128)" in lines
  assert "model.partial = True  # False: ordinary convolutions (ablation d)" in lines
  assert config_lib.main([os.path.join(ROOT, "configs", "demoo.py")]) == 1
  assert "config file not found" in capsys.readouterr().err
  with pytest.raises(SystemExit) as exit_:
    config_lib.main(["--help"])
  assert exit_.value.code == 0
  help_text = capsys.readouterr().out
  assert "Every config field, its value and its one-line comment" in help_text
  assert "configs/paper_cpu.py:a" in help_text
  with pytest.raises(SystemExit) as exit_:
    config_lib.main(["configs/demo.py", "configs/base.py"])
  assert exit_.value.code == 2
  assert "unrecognized arguments: configs/base.py" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["photos_adv", "photos_refine",
                                  "photos_finetune"])
def test_configs_that_start_from_the_shipped_model_can(name):
  """Their model section fits the shipped weights (a head is never dropped),
  so a run starts instead of failing on its first line."""
  run = config_lib.parse(importlib.import_module(f"configs.{name}").get_config())
  assert run.train.init_from == weights.PRETRAINED
  initial = training.initial_generator(run.train.init_from, run.model)
  assert sorted(initial["variables"]["params"]) == sorted(
      generator.layer_names(run.model))
  if name != "photos_refine":  # they go on from the fine-tuned model
    assert run.optim.freeze_batch_norm and run.model.refine


def test_the_paper_experiment_trains_its_variants_alike():
  """configs/paper_cpu.py:V: the paper's proportions (25 : 6 : 94) at one
  scale; (a), (b), (c) start from g1's generator; (b) takes as many
  generator steps as (a); (c) and (d) differ from (a) in one field each."""
  path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(
      __file__))), "configs", "paper_cpu.py")
  runs = {v: config_lib.load_file(f"{path}:{v}")
          for v in ("g1", "a", "b", "c", "d")}
  g1, d_only, joint = runs["d"].train.phase_steps
  assert runs["g1"].train.phase_steps == (g1, 0, 0)
  assert abs(g1 / 25 - d_only / 6) < 1 and abs(g1 / 25 - joint / 94) < 1
  assert runs["a"].train.phase_steps == runs["c"].train.phase_steps == (
      0, d_only, joint)
  assert runs["b"].train.phase_steps == (joint, 0, 0)
  for v in ("a", "b", "c"):
    assert runs[v].train.init_from.endswith("/g1")
  assert not runs["g1"].train.get("init_from") and not runs["d"].train.get(
      "init_from")
  flat = {v: c.to_dict() for v, c in runs.items()}
  assert not flat["c"]["discriminator"]["local"] and flat["a"]["discriminator"]["local"]
  assert not flat["d"]["model"]["partial"] and flat["g1"]["model"]["partial"]
  for v in runs:  # the paper's losses, masks, batch and size, alike
    assert flat[v]["loss"] == flat["a"]["loss"] and flat[v]["mask"] == flat["a"]["mask"]
    assert flat[v]["data"] == flat["a"]["data"]
    assert flat[v]["model"]["width"] == flat[v]["discriminator"]["width"] == 0.5
