"""The README's code for other programs runs as written."""

import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def section_code(title: str) -> str:
  """The python blocks of the README section ``title``, in order."""
  with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
    text = f.read()
  start = text.index(f"## {title}\n")
  end = text.find("\n## ", start + 1)
  blocks = re.findall(r"```python\n(.*?)```", text[start:end], re.S)
  assert blocks, f"no python blocks in README section {title!r}"
  return "\n".join(blocks)


@pytest.mark.slow
def test_using_pconvgan_from_other_code_runs_as_written(tmp_path):
  code = section_code("Using pconvgan from other code")
  # Checks appended to the README's own code: the three ways agree.
  code += "\n".join([
      "", "import numpy as np",
      "want = pconvgan.inpaint(variables, image, mask, config=config)",
      "np.testing.assert_allclose(np.asarray(filled), np.asarray(want), atol=2e-6)",
      "np.testing.assert_allclose(model.apply(variables, image, mask),",
      "                           pconvgan.apply(variables, image, mask, config=config), atol=1e-6)",
      "print('README code ok')"])
  result = subprocess.run([sys.executable, "-c", code], cwd=str(tmp_path),
                          capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, PYTHONPATH=ROOT))
  assert result.returncode == 0, result.stderr[-3000:]
  assert "README code ok" in result.stdout
  assert (tmp_path / "inpaint.jaxexport").stat().st_size > 1e6


def test_architecture_tables_are_what_the_summary_command_prints(capsys):
  """docs/architecture.md's tables (which the README points to) are the
  output of `python -m pconvgan.summary`, row for row, and its counts are
  Table 1's and Table 2's by hand (tests/test_generator.py,
  tests/test_discriminator.py)."""
  from pconvgan import summary  # pylint: disable=import-outside-toplevel
  import test_discriminator  # pylint: disable=import-outside-toplevel
  import test_generator  # pylint: disable=import-outside-toplevel
  summary.main([])
  printed = capsys.readouterr().out
  rows = [line for line in printed.splitlines() if line.startswith("|")]
  with open(os.path.join(ROOT, "docs", "architecture.md"), encoding="utf-8") as f:
    doc = f.read()
  assert len(rows) == 13 + 6
  for row in rows:
    assert row in doc, row
  assert f"{test_generator.table1_param_count():,}" in printed
  assert f"{sum(test_discriminator.table2_param_count(128, 128)):,}" in printed


def test_an_exported_weights_file_reads_with_flax_alone(tmp_path):
  """The README: `flax.serialization.msgpack_restore` reads a weights file
  (the shipped one, float16) into the arrays pconvgan.weights.load gives."""
  import flax.serialization  # pylint: disable=import-outside-toplevel
  import jax  # pylint: disable=import-outside-toplevel
  import numpy as np  # pylint: disable=import-outside-toplevel
  from pconvgan import weights  # pylint: disable=import-outside-toplevel
  with open(weights.PRETRAINED, "rb") as f:
    raw = flax.serialization.msgpack_restore(f.read())
  loaded, _, _ = weights.load(weights.PRETRAINED)
  found = {jax.tree_util.keystr(p): np.asarray(x) for p, x in
           jax.tree_util.tree_leaves_with_path(raw)}
  for path, leaf in jax.tree_util.tree_leaves_with_path(loaded):
    key = next(k for k in found if k.endswith(jax.tree_util.keystr(path)))
    np.testing.assert_array_equal(found[key].astype(np.float32), leaf)


def test_the_one_pass_limit_in_the_readme_is_the_library_s():
  from pconvgan import regions  # pylint: disable=import-outside-toplevel
  with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
    text = " ".join(f.read().split())
  assert f"lies within {regions.DEPTH} pixels (in rows and columns)" in text
