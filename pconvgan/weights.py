"""Generator weights as one file: Flax's msgpack serialization, no Orbax.

A weights file holds the generator's parameters and batch statistics, the
GeneratorConfig that rebuilds it and a free-form ``meta`` dict (where it
came from: run, step, data), written with ``flax.serialization``. It loads
without Orbax, the training state or the training code::

    variables, config, meta = pconvgan.weights.load("generator.msgpack")
    variables, config = pconvgan.pretrained()          # the shipped model

Write one from any train.py checkpoint::

    python -m pconvgan.export --ckpt ~/runs/photos --out generator.msgpack
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

import jax
import numpy as np
from flax import serialization

from pconvgan import generator

FORMAT = "pconvgan-generator"
VERSION = 1
# The shipped model (its card: README).
PRETRAINED = os.path.join(os.path.dirname(__file__), "weights", "photos.msgpack")


def to_bytes(variables: dict, config: Any = None, meta: dict | None = None, *,
             dtype=np.float32) -> bytes:
  """The msgpack bytes of ``variables`` ({'params', 'batch_stats'}), stored
  as ``dtype`` (float32 or float16), with their config and ``meta``."""
  config = generator.GeneratorConfig() if config is None else config
  if not isinstance(config, generator.GeneratorConfig):
    config = generator.GeneratorConfig(**dict(config))
  host = jax.device_get(variables)
  with np.errstate(over="ignore"):  # overflow is refused just below
    arrays = jax.tree.map(lambda x: np.asarray(x, dtype), host)
  _check_finite_in(arrays, host, dtype)
  return serialization.msgpack_serialize({
      "format": FORMAT, "version": VERSION,
      "config": json.dumps(dataclasses.asdict(config)),
      "meta": json.dumps(meta or {}, default=str),
      "variables": arrays})


def _check_finite_in(arrays: dict, variables: dict, dtype) -> None:
  """Refuses a cast that turned finite values into inf (float16 holds
  magnitudes up to 65504 only), naming the first such variable."""
  for (path, stored), original in zip(jax.tree_util.tree_leaves_with_path(arrays),
                                      jax.tree.leaves(variables)):
    original = np.asarray(original)
    if (~np.isfinite(stored) & np.isfinite(original)).any():
      raise ValueError(
          f"{jax.tree_util.keystr(path)} has values beyond what "
          f"{np.dtype(dtype).name} holds (largest magnitude "
          f"{np.abs(original).max():.4g}); store it as float32")


def from_bytes(data: bytes, name: str = "weights"
               ) -> tuple[dict, generator.GeneratorConfig, dict]:
  """(variables as float32, GeneratorConfig, meta) from ``to_bytes`` output;
  checks the structure and shapes against the config's generator."""
  try:
    tree = serialization.msgpack_restore(data)
  except Exception as e:  # msgpack raises several unrelated types
    raise ValueError(f"{name} is not a pconvgan weights file: {e}") from None
  if not isinstance(tree, dict) or tree.get("format") != FORMAT:
    raise ValueError(f"{name} is not a pconvgan weights file (format "
                     f"{tree.get('format') if isinstance(tree, dict) else None!r})")
  if tree.get("version") != VERSION:
    raise ValueError(f"{name} has weights format version {tree.get('version')}; "
                     f"this pconvgan reads version {VERSION}")
  config = generator.GeneratorConfig(**json.loads(tree["config"]))
  expected = jax.eval_shape(
      lambda: generator.init_generator(jax.random.key(0), config))
  variables = tree["variables"]
  want = jax.tree_util.tree_structure(expected)
  got = jax.tree_util.tree_structure(variables)
  if want != got:
    raise ValueError(f"{name}: the weights do not match the generator of its "
                     f"config {config}")
  for (path, e), v in zip(jax.tree_util.tree_leaves_with_path(expected),
                          jax.tree.leaves(variables)):
    if tuple(e.shape) != tuple(v.shape):
      raise ValueError(f"{name}: {jax.tree_util.keystr(path)} has shape "
                       f"{tuple(v.shape)}, expected {tuple(e.shape)}")
  variables = jax.tree.map(lambda x: np.asarray(x, np.float32), variables)
  return variables, config, json.loads(tree["meta"])


def save(path: str, variables: dict, config: Any = None,
         meta: dict | None = None, *, dtype=np.float32) -> None:
  """Writes a weights file atomically (a temporary file, then a rename)."""
  data = to_bytes(variables, config, meta, dtype=dtype)
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  with open(path + ".tmp", "wb") as f:
    f.write(data)
  os.replace(path + ".tmp", path)


def load(path: str) -> tuple[dict, generator.GeneratorConfig, dict]:
  """(variables, GeneratorConfig, meta) of a weights file; errors name it."""
  try:
    with open(path, "rb") as f:
      data = f.read()
  except FileNotFoundError:
    raise FileNotFoundError(f"weights file not found: {path}") from None
  return from_bytes(data, path)


def pretrained() -> tuple[dict, generator.GeneratorConfig]:
  """(variables, config) of the model that ships with pconvgan."""
  variables, config, _ = load(PRETRAINED)
  return variables, config


def pretrained_meta() -> dict:
  """What the shipped model was trained on, for how long, and how it scored."""
  return load(PRETRAINED)[2]


def is_weights_file(path: str) -> bool:
  return os.path.isfile(path) and path.endswith(".msgpack")


def add_ckpt_argument(parser) -> None:
  """The ``--ckpt`` option of the command-line tools (for ``load_any``)."""
  parser.add_argument("--ckpt", default=None,
                      help="a train.py workdir, its checkpoints/, a step folder "
                      "or a .msgpack weights file (default: the shipped model)")


def load_any(path: str | None) -> tuple[dict, generator.GeneratorConfig, dict,
                                       str, int, str]:
  """(variables, config, run config, name, step, folder) of a weights file,
  a train.py checkpoint or (``None``) the shipped model. A weights file's
  run config is empty: its training folders need not exist here."""
  from pconvgan import checkpoint  # pylint: disable=import-outside-toplevel
  path = None if path is None else os.path.expanduser(path)
  if path is None or is_weights_file(path):
    file = PRETRAINED if path is None else path
    variables, config, meta = load(file)
    name = "pretrained" if path is None else os.path.splitext(
        os.path.basename(file))[0]
    return (variables, config, {}, name, int(meta.get("step", 0)),
            os.path.dirname(os.path.abspath(file)))
  variables, config, run_config, step = checkpoint.load_generator(path)
  directory, _ = checkpoint.resolve(path)
  workdir = (os.path.dirname(directory)
             if os.path.basename(directory) == "checkpoints" else directory)
  return (variables, config, run_config, f"{os.path.basename(workdir)}@{step}",
          step, workdir)
