"""Runs the survivors of a cosmic-ray session again, against the tests as
committed now: the session's copy of the tree moves to the work tree's
commit, each surviving mutant is applied to it (cosmic-ray apply) and the
session's test command is run. The mutated module must not have changed
since the session began (the mutants are numbered within it).

    python tests/mutation/recheck.py ~/mutation/MODULE [--tests SELECTION]
        [--resume EARLIER_OUTPUT]

--tests replaces the session's pytest selection (its files and -m/-k), for
example with the whole test file where the session left out slow tests.
--resume skips the survivors that an earlier recheck's output (this
script's printed lines) records as killed: tests are only added, so they
stay killed; the ones it left alive, or never reached, are run.

Prints each survivor and whether the current tests kill it; the ones still
alive are either missing tests or equivalent mutants (docs/mutation.md).
"""

import argparse
import os
import shlex
import sqlite3
import subprocess
import sys
import tomllib


def test_command(session_command: str, tests: str | None) -> list[str]:
  """The session's pytest command, its selection (the words from its first
  tests/ path on) replaced by `tests`."""
  words = shlex.split(session_command)
  if tests is None:
    return words
  first = next((i for i, w in enumerate(words) if w.startswith("tests/")),
               None)
  if first is None:
    raise ValueError(f"no tests/ path in the session's command: "
                     f"{session_command}")
  return words[:first] + shlex.split(tests)


EARLIER = " (earlier recheck)"  # marks a survivor skipped by --resume


def label(path: str, operator: str, occurrence: int, row: int) -> str:
  """How a survivor is printed: `pconvgan/masks.py:52 core/NumberReplacer
  #44`."""
  return f"{path}:{row} {operator} #{occurrence}"


def mutant(name: str) -> tuple[str, str, str]:
  """A printed survivor's module, operator and occurrence: what names the
  mutant (its line is printed for reading, and older outputs printed it one
  too high)."""
  where, operator, occurrence = name.split()[:3]
  return where.rsplit(":", 1)[0], operator, occurrence


def killed_before(output: str) -> set[tuple[str, str, str]]:
  """The mutants an earlier recheck's printed output records as killed
  (by a test: a timeout is run again)."""
  return {mutant(line.removeprefix("killed "))
          for line in output.splitlines()
          if line.startswith("killed ") and not line.endswith("(timeout)")}


def header(work: str, module: str) -> str:
  """The first line of a recheck's output: which session it rechecks
  (--resume refuses an output of another)."""
  return f"# recheck of {module} in {os.path.abspath(work)}"


def changed_since_session(root: str, work: str, module: str) -> str | None:
  """The session's commit if ``module`` differs from it at HEAD (its mutants
  are numbered in the session's module), else None. Sessions record their
  commit in WORK/commit (run.sh); one without it is not checked."""
  path = os.path.join(work, "commit")
  if not os.path.exists(path):
    return None
  with open(path, encoding="utf-8") as f:
    commit = f.read().strip()
  same = subprocess.run(["git", "-C", root, "diff", "--quiet", commit, "HEAD",
                         "--", module]).returncode == 0
  return None if same else commit


def main(work: str, tests: str | None = None,
         resume: str | None = None) -> int:
  root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
      __file__))))
  tree = os.path.join(work, "tree")
  with open(os.path.join(work, "config.toml"), "rb") as f:
    config = tomllib.load(f)["cosmic-ray"]
  module = config["module-path"]
  commit = changed_since_session(root, work, module)
  if commit is not None:
    print(f"recheck.py: {module} has changed since the session's commit "
          f"{commit[:10]}: its mutants no longer match; start a new session",
          file=sys.stderr)
    return 2
  db = sqlite3.connect(os.path.join(work, "session.sqlite"))
  survivors = db.execute(
      "SELECT s.module_path, s.operator_name, s.occurrence, s.start_pos_row "
      "FROM mutation_specs s JOIN work_results r ON s.job_id = r.job_id "
      "WHERE r.test_outcome = 'SURVIVED' ORDER BY s.start_pos_row").fetchall()
  head = subprocess.run(["git", "-C", root, "rev-parse", "HEAD"], check=True,
                        capture_output=True, text=True).stdout.strip()
  subprocess.run(["git", "-C", tree, "checkout", "-q", "--force", "--detach",
                  head], check=True)
  skip = set()
  if resume is not None:
    with open(resume, encoding="utf-8") as f:
      earlier = f.read()
    first = earlier.split("\n", 1)[0]
    if first.startswith("# ") and first != header(work, module):
      print(f"recheck.py: --resume {resume} is of another session: {first}",
            file=sys.stderr)
      return 2
    skip = killed_before(earlier)
  print(header(work, module), flush=True)
  alive = 0
  env = dict(os.environ,  # the session's compilation cache, as run.sh's
             PCONVGAN_TEST_XLA_CACHE=os.path.join(work, "xla-cache"))
  os.makedirs(env["PCONVGAN_TEST_XLA_CACHE"], exist_ok=True)
  for path, operator, occurrence, row in survivors:
    name = label(path, operator, occurrence, row)
    if mutant(name) in skip:
      print(f"killed {name}{EARLIER}", flush=True)
      continue
    subprocess.run(["git", "-C", tree, "checkout", "--", path], check=True)
    subprocess.run(["cosmic-ray", "apply", path, operator, str(occurrence)],
                   cwd=tree, check=True, capture_output=True)
    try:
      result = subprocess.run(test_command(config["test-command"], tests),
                              cwd=tree, env=env, capture_output=True,
                              timeout=config["timeout"])
      killed, why = result.returncode != 0, ""
    except subprocess.TimeoutExpired:  # as cosmic-ray counts a timeout
      killed, why = True, " (timeout)"
    alive += not killed
    print(f"{'killed' if killed else 'ALIVE '} {name}{why}", flush=True)
  subprocess.run(["git", "-C", tree, "checkout", "--", module], check=True)
  print(f"{len(survivors)} survivors of the session, {alive} still alive")
  return 0


if __name__ == "__main__":
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("work", help="the session's folder (~/mutation/MODULE)")
  parser.add_argument("--tests", help="pytest selection replacing the "
                      "session's, e.g. 'tests/test_masks.py'")
  parser.add_argument("--resume", metavar="EARLIER_OUTPUT",
                      help="an earlier recheck's output: skip the survivors "
                      "it records as killed")
  args = parser.parse_args()
  if args.resume is not None and not os.path.isfile(args.resume):
    parser.error(f"--resume: no such file: {args.resume}")
  sys.exit(main(args.work, args.tests, args.resume))
