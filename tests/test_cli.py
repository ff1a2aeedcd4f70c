"""Flag mistakes of train.py and eval.py: one line naming the flag, no
traceback."""

import os
import subprocess
import sys

import pytest
from absl import flags
from ml_collections import config_flags

from pconvgan import cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def parse_error(argv, capsys):
  """What cli.flags_parser prints for ``argv``, with a fresh set of flags
  like train.py's."""
  values = flags.FlagValues()
  config_flags.DEFINE_config_file("config", None, "config file",
                                  flag_values=values, lock_config=True,
                                  sys_argv=["train.py", *argv])
  flags.DEFINE_string("workdir", None, "workdir", flag_values=values)
  with pytest.raises(SystemExit) as stop:
    cli.flags_parser("train.py", values)(["train.py", *argv])
  assert stop.value.code == 2
  err = capsys.readouterr().err
  assert len(err.strip().splitlines()) == 1, err
  return err.strip()


def test_config_mistakes_are_one_line_naming_the_flag(tmp_path, capsys):
  demo = os.path.join(ROOT, "configs", "demo.py")
  assert parse_error(["--config", demo, "--config.train.batchsize=8"],
                     capsys) == (
      "train.py: error: --config.train.batchsize: no such config field; did "
      "you mean 'batch_size'?")
  assert parse_error(["--config", demo, "--config.trian.batch_size=8"],
                     capsys) == (
      "train.py: error: --config.trian.batch_size: no such config field; did "
      "you mean 'train'?")
  assert "'abc'" in parse_error(
      ["--config", demo, "--config.train.batch_size=abc"], capsys)
  missing = str(tmp_path / "demoo.py")
  assert parse_error(["--config", missing], capsys) == (
      f"train.py: error: --config {missing}: cannot load the config file (No "
      "such file or directory)")
  bad = tmp_path / "bad.py"
  bad.write_text("def get_config():\n  return (\n")
  assert parse_error(["--config", str(bad)], capsys).startswith(
      f"train.py: error: --config {bad}: the config file fails at line 2: "
      "SyntaxError")
  failing = tmp_path / "failing.py"
  failing.write_text("def get_config():\n  return 1 / 0\n")
  assert parse_error(["--config", str(failing)], capsys) == (
      f"train.py: error: --config {failing}: the config file fails: "
      "ZeroDivisionError: division by zero")
  assert "workdirr" in parse_error(["--config", demo, "--workdirr=x"], capsys)
  variant = f"{ROOT}/configs/paper_cpu.py:e"  # an argument it refuses
  assert parse_error(["--config", variant], capsys) == (
      f"train.py: error: --config {variant}: the config file fails: "
      "ValueError: configs/paper_cpu.py takes one of ('g1', 'a', 'b', 'c', "
      "'d') after ':', got 'e'")


def test_a_good_command_line_parses():
  argv = ["train.py", "--config", os.path.join(ROOT, "configs", "demo.py"),
          "--config.train.batch_size=8"]
  values = flags.FlagValues()
  config_flags.DEFINE_config_file("config", None, "config file",
                                  flag_values=values, sys_argv=argv)
  rest = cli.flags_parser("train.py", values)(argv)
  assert rest == ["train.py"] and values.config.train.batch_size == 8


@pytest.mark.slow
@pytest.mark.parametrize("script", ["train.py", "eval.py"])
def test_scripts_report_a_misspelt_field_in_one_line(tmp_path, script):
  result = subprocess.run(
      [sys.executable, script, "--config", "configs/demo.py",
       "--config.train.batchsize=8"], cwd=ROOT, capture_output=True,
      text=True, timeout=300)
  assert result.returncode == 2
  assert result.stderr.strip() == (
      f"{script}: error: --config.train.batchsize: no such config field; did "
      "you mean 'batch_size'?")


def test_a_config_flag_left_out_parses(tmp_path):
  # eval.py's --config is optional: leaving it out must not touch the file.
  argv = ["eval.py", "--data", str(tmp_path)]
  values = flags.FlagValues()
  config_flags.DEFINE_config_file("config", None, "config file",
                                  flag_values=values, sys_argv=argv)
  flags.DEFINE_string("data", None, "data", flag_values=values)
  assert cli.flags_parser("eval.py", values)(argv) == ["eval.py"]
  assert values.data == str(tmp_path)
