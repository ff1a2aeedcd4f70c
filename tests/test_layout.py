"""The module layout docs/architecture.md states: levels that import only downwards,
and no backend decision in the model."""

import os
import re

import pytest

PACKAGE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))), "pconvgan")
LEVELS = [  # as in docs/architecture.md, Layout
    ["conv", "cpu_training", "layers", "dihedral", "generator", "discriminator",
     "lpips", "perceptual", "losses"],
    ["files", "masks", "data", "steps", "config", "checkpoint", "weights",
     "training"],
    ["regions", "inpaint_photos", "evaluation", "metrics", "poisson",
     "export", "linen", "app"],
]
LEVEL = {m: i for i, modules in enumerate(LEVELS) for m in modules}


def imports(module):
  with open(os.path.join(PACKAGE, module + ".py")) as f:
    return set(re.findall(r"^\s*from pconvgan import (\w+)", f.read(), re.M))


@pytest.mark.parametrize("module", sorted(LEVEL))
def test_modules_import_only_their_level_or_below(module):
  upward = {m for m in imports(module) if LEVEL.get(m, -1) > LEVEL[module]}
  assert not upward, f"{module} imports {upward} from a higher level"


@pytest.mark.parametrize("module", ["generator", "discriminator", "layers",
                                    "conv", "cpu_training", "dihedral"])
def test_the_model_makes_no_backend_decision(module):
  with open(os.path.join(PACKAGE, module + ".py")) as f:
    source = f.read()
  assert "default_backend" not in source
  if module in ("generator", "discriminator"):
    assert "cpu_training" not in source


def _scripts():
  root = os.path.dirname(PACKAGE)
  found = [os.path.join(root, n) for n in ("train.py", "eval.py")]
  for folder in ("pconvgan", "bench", "examples", "tools", "experiments"):
    for dirpath, _, names in os.walk(os.path.join(root, folder)):
      found += [os.path.join(dirpath, n) for n in names if n.endswith(".py")]
  return sorted(found)


@pytest.mark.parametrize("path", _scripts(),
                         ids=lambda p: os.path.relpath(p, os.path.dirname(PACKAGE)))
def test_docstrings_keep_their_shell_line_continuations(path):
  """A backslash at the end of a line in a non-raw docstring joins the two
  lines: --help would print an example command as one collapsed line."""
  import ast  # pylint: disable=import-outside-toplevel
  with open(path) as f:
    source = f.read()
  for node in ast.walk(ast.parse(source)):
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
      text = ast.get_source_segment(source, node) or ""
      assert not ("\\\n" in text and "\\\n" not in node.value), (
          f"{path}:{node.lineno}: a string whose source ends a line in a "
          "backslash loses it; make it raw (r\"\"\"...)")


def test_import_pconvgan_leaves_every_command_module_unimported():
  """``python -m pconvgan.X`` warns ('found in sys.modules ... unpredictable
  behaviour') when importing the package already imported X."""
  import subprocess  # pylint: disable=import-outside-toplevel
  import sys  # pylint: disable=import-outside-toplevel
  commands = []
  for name in sorted(os.listdir(PACKAGE)):
    if name.endswith(".py"):
      with open(os.path.join(PACKAGE, name)) as f:
        if 'if __name__ == "__main__":' in f.read():
          commands.append(name[:-3])
  assert {"masks", "export", "inpaint_photos", "app"} <= set(commands)
  out = subprocess.run(
      [sys.executable, "-c", "import sys, pconvgan; print(' '.join(sys.modules))"],
      capture_output=True, text=True, check=True, timeout=120).stdout.split()
  assert not {f"pconvgan.{c}" for c in commands} & set(out)
