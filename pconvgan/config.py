"""A run's config: its sections, their fields and defaults, and validation.

Each section is a frozen dataclass of the module it configures; each field's
default and one-line comment are stated there, once. ``default_config()``
turns them into the ConfigDict that ``configs/*.py`` start from, ``parse``
validates one (errors name the field), and

    python -m pconvgan.config [CONFIG_FILE[:ARG]]

lists every field with its value (the default, or what the file sets) and
its comment.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import os
import re
import sys
from typing import Any

import ml_collections

from pconvgan import checks
from pconvgan import data
from pconvgan import discriminator
from pconvgan import generator
from pconvgan import masks
from pconvgan import steps


@dataclasses.dataclass(frozen=True)
class TrainConfig:
  """The schedule and its reporting (config section ``train``).

  The batch is split over every device of every process. Checkpoints are
  also written at every phase boundary. ``init_from`` (a weights file or a
  train.py run) gives a new run its generator's parameters and batch
  statistics, e.g. to run the adversarial phases on a trained generator;
  a workdir with a checkpoint resumes from it instead.
  """
  batch_size: int = 16  # global batch over all devices
  phase_steps: tuple = (25_000, 6_000, 94_000)  # G only, D only, joint
  log_every: int = 50  # steps between metrics records
  sample_every: int = 1000  # steps between sample grids (0 = at the end)
  checkpoint_every: int = 1000  # steps between checkpoints
  keep_checkpoints: int = 3  # recent checkpoints kept
  sample_count: int = 4  # test images per sample grid
  init_from: str = ""  # weights file or run a new run's generator starts from

  def __post_init__(self):
    if self.batch_size < 1:
      raise ValueError(f"train.batch_size must be >= 1, got {self.batch_size}")
    if len(self.phase_steps) != 3 or any(n < 0 for n in self.phase_steps):
      raise ValueError("train.phase_steps must be three step counts >= 0 "
                       f"(generator, discriminators, joint), got {self.phase_steps}")
    if not sum(self.phase_steps):
      raise ValueError("train.phase_steps has no step to train: "
                       f"{tuple(self.phase_steps)}")
    for name in ("log_every", "checkpoint_every", "keep_checkpoints",
                 "sample_count"):
      if getattr(self, name) < 1:
        raise ValueError(f"train.{name} must be >= 1, got {getattr(self, name)}")
    if self.sample_every < 0:
      raise ValueError(f"train.sample_every must be >= 0, got {self.sample_every}")
    if self.init_from and not os.path.exists(os.path.expanduser(self.init_from)):
      raise ValueError(f"train.init_from: no weights file or run at "
                       f"{self.init_from}")


@dataclasses.dataclass(frozen=True)
class RunConfig:
  """A run's config, every section validated."""
  seed: int
  model: generator.GeneratorConfig
  discriminator: discriminator.DiscriminatorConfig
  data: data.DataConfig
  mask: masks.MaskConfig
  loss: steps.LossConfig
  optim: steps.OptimConfig
  train: TrainConfig

  def __post_init__(self):
    if self.optim.freeze_unet and not self.model.refine:
      raise ValueError("optim.freeze_unet trains only the refinement head, "
                       "but model.refine is 0 (no head)")


SECTIONS = {"model": generator.GeneratorConfig,
            "discriminator": discriminator.DiscriminatorConfig,
            "data": data.DataConfig, "mask": masks.MaskConfig,
            "loss": steps.LossConfig, "optim": steps.OptimConfig,
            "train": TrainConfig}


def parse(config: Any) -> RunConfig:
  """Validates a ConfigDict (or dict) of a run; errors name the field."""
  get = config.get if hasattr(config, "get") else lambda k, d=None: d
  unknown = sorted(set(config.keys()) - set(SECTIONS) - {"seed"})
  if unknown:
    raise ValueError(f"unknown config sections {unknown}; known: "
                     f"{sorted(SECTIONS) + ['seed']}")
  parsed = {}
  for name, cls in SECTIONS.items():
    try:
      parsed[name] = checks.as_config(cls, get(name))
    except (TypeError, ValueError) as e:
      raise ValueError(f"config.{name}: {e}") from None
  return RunConfig(seed=int(get("seed", SEED[0])), **parsed)


# The one field outside the sections: (default, comment).
SEED = (0, "initialisation seed of all networks")


def default_config() -> ml_collections.ConfigDict:
  """Every section and field at its default."""
  config = ml_collections.ConfigDict()
  config.seed = SEED[0]
  for name, cls in SECTIONS.items():
    config[name] = ml_collections.ConfigDict(dataclasses.asdict(cls()))
  return config


_FIELD = re.compile(r"^[ \t]+(\w+): [^=\n]+ = [^\n]*?  # (.+)$", re.MULTILINE)


def field_comments(cls: type) -> dict[str, str]:
  """{field: its one-line comment} of a config dataclass, from its source
  ('' for a field without one)."""
  found = dict(_FIELD.findall(inspect.getsource(cls)))
  return {f.name: found.get(f.name, "") for f in dataclasses.fields(cls)}


def describe(config: Any = None) -> str:
  """Every field as 'section.field = value  # comment', one a line: the
  defaults, or the values of ``config`` (a ConfigDict or dict of a run),
  those that differ from the default marked with the default."""
  run = parse(config) if config is not None else None
  seed = run.seed if run else SEED[0]
  lines = [f"seed = {seed!r}  # {SEED[1]}"
           + (f" (default {SEED[0]!r})" if seed != SEED[0] else "")]
  for name, cls in SECTIONS.items():
    comments = field_comments(cls)
    section = getattr(run, name) if run else None
    for f in dataclasses.fields(cls):
      value = getattr(section, f.name) if run else f.default
      note = f" (default {f.default!r})" if value != f.default else ""
      lines.append(f"{name}.{f.name} = {value!r}  # {comments[f.name]}{note}")
  return "\n".join(lines)


def load_file(path: str) -> Any:
  """The ``get_config()`` of a config file (its folder's parent importable,
  as for ``from configs import base``); ``FILE:ARG`` passes ARG to it, as
  train.py's --config does. Errors name the file."""
  import importlib.util  # pylint: disable=import-outside-toplevel
  args = []
  if not os.path.isfile(path) and ":" in path:
    path, arg = path.split(":", 1)
    args = [arg]
  if not os.path.isfile(path):
    raise ValueError(f"config file not found: {path}")
  if not path.endswith(".py"):
    raise ValueError(f"config file {path} is not a Python file (.py) with a "
                     "get_config()")
  root = os.path.dirname(os.path.dirname(os.path.abspath(path)))
  if root not in sys.path:
    sys.path.insert(0, root)
  spec = importlib.util.spec_from_file_location("_pconvgan_config", path)
  module = importlib.util.module_from_spec(spec)
  try:
    spec.loader.exec_module(module)
    get_config = module.get_config
    if args and not inspect.signature(get_config).parameters:
      raise ValueError(f"its get_config() takes no argument, got "
                       f"'{args[0]}' after the ':'")
    return get_config(*args)
  except Exception as e:  # pylint: disable=broad-except
    raise ValueError(f"config file {path} fails: {type(e).__name__}: "
                     f"{' '.join(str(e).split())}") from None


def main(argv: list[str]) -> int:
  """``python -m pconvgan.config [CONFIG_FILE[:ARG]]``: every field with its
  value and comment (without a file: the defaults)."""
  parser = argparse.ArgumentParser(
      prog="python -m pconvgan.config",
      description="Every config field, its value and its one-line comment: "
      "the defaults, or what a config file sets.",
      epilog="examples: python -m pconvgan.config configs/demo.py; "
      "python -m pconvgan.config configs/paper_cpu.py:a (a config's "
      "argument after the colon, as train.py --config takes it)")
  parser.add_argument("config", nargs="?", metavar="CONFIG_FILE[:ARG]",
                      help="a config file (default: the defaults)")
  args = parser.parse_args(argv)
  try:
    print(describe(load_file(args.config) if args.config else None))
  except ValueError as e:
    print(f"pconvgan.config: error: {e}", file=sys.stderr)
    return 1
  return 0


if __name__ == "__main__":
  raise SystemExit(main(sys.argv[1:]))
