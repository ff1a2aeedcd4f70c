"""The mutation-testing helper's command handling (tests/mutation)."""

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "mutation"))
import recheck  # pylint: disable=wrong-import-position

SESSION = ("python -m pytest -x -q -n 0 -p no:cacheprovider "
           "tests/test_masks.py -m 'not slow'")


def test_recheck_keeps_the_session_command_without_tests():
  assert recheck.test_command(SESSION, None) == [
      "python", "-m", "pytest", "-x", "-q", "-n", "0", "-p",
      "no:cacheprovider", "tests/test_masks.py", "-m", "not slow"]


def test_recheck_replaces_the_whole_selection_and_keeps_the_options():
  assert recheck.test_command(SESSION, "tests/test_masks.py -k draws") == [
      "python", "-m", "pytest", "-x", "-q", "-n", "0", "-p",
      "no:cacheprovider", "tests/test_masks.py", "-k", "draws"]


def test_recheck_refuses_a_command_without_tests():
  with pytest.raises(ValueError, match="no tests/ path"):
    recheck.test_command("python -m pytest -q", "tests/test_masks.py")


def test_recheck_resume_skips_only_what_an_earlier_output_killed():
  name = recheck.label("pconvgan/masks.py", "core/NumberReplacer", 44, 52)
  assert name == "pconvgan/masks.py:52 core/NumberReplacer #44"
  output = (f"killed {name}\n"
            "ALIVE  pconvgan/masks.py:69 core/NumberReplacer #67\n"
            "killed pconvgan/masks.py:70 core/NumberReplacer #68 "
            "(earlier recheck)\n"
            "80 survivors of the session, 1 still alive\n")
  assert recheck.killed_before(output) == {
      ("pconvgan/masks.py", "core/NumberReplacer", "#44"),
      ("pconvgan/masks.py", "core/NumberReplacer", "#68")}
  # The line is not part of the name: outputs before a fix printed it +1.
  assert recheck.mutant(name.replace(":52", ":53")) == recheck.mutant(name)
