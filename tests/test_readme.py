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
