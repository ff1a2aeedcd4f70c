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


def test_recheck_does_not_trust_a_timeout_and_names_its_session(tmp_path):
  output = ("killed pconvgan/steps.py:10 core/NumberReplacer #3 (timeout)\n"
            "killed pconvgan/steps.py:11 core/NumberReplacer #4\n")
  assert recheck.killed_before(output) == {
      ("pconvgan/steps.py", "core/NumberReplacer", "#4")}
  assert recheck.header(str(tmp_path), "pconvgan/steps.py") == (
      f"# recheck of pconvgan/steps.py in {tmp_path}")


def test_recheck_refuses_a_module_changed_since_the_session(tmp_path):
  import subprocess

  def git(*args):
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t",
                           "-C", str(tmp_path / "repo"), *args], check=True,
                          capture_output=True, text=True).stdout.strip()
  os.makedirs(tmp_path / "repo" / "pconvgan")
  git("init", "-q")
  for text in ("a = 1\n", "a = 2\n"):
    (tmp_path / "repo" / "pconvgan" / "m.py").write_text(text)
    git("add", "-A")
    git("commit", "-q", "-m", text)
  first = git("rev-parse", "HEAD~1")
  work = tmp_path / "session"
  os.makedirs(work)
  root = str(tmp_path / "repo")
  assert recheck.changed_since_session(root, str(work), "pconvgan/m.py") is None
  (work / "commit").write_text(git("rev-parse", "HEAD") + "\n")
  assert recheck.changed_since_session(root, str(work), "pconvgan/m.py") is None
  (work / "commit").write_text(first + "\n")
  assert recheck.changed_since_session(root, str(work),
                                       "pconvgan/m.py") == first
