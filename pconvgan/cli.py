"""Command-line flags parsed with one line per mistake, not a traceback.

absl parses ``--config configs/x.py`` and ``--config.section.field=value``
before ``main`` runs; a missing config file or a misspelt field surfaces
there as an OSError or AttributeError with a traceback. ``flags_parser``
turns each into one line that names the flag and what is wrong.
"""

from __future__ import annotations

import re
import sys
from typing import Callable, Sequence

from absl import flags

_SUGGESTION = re.compile(r'Did you mean "(\w+)" instead of "(\w+)"')
_MISSING_KEY = re.compile(r"'(\w+)'")


def _config_override(argv: Sequence[str], key: str) -> str:
  """The ``--config.a.b`` argument with ``key`` as one of its parts (or '')."""
  for arg in argv:
    name = arg.split("=", 1)[0]
    if name.startswith("--config.") and key in name.split(".")[1:]:
      return name
  return ""


def _config_file(argv: Sequence[str]) -> str:
  for i, arg in enumerate(argv):
    if arg.startswith("--config="):
      return arg.split("=", 1)[1]
    if arg == "--config" and i + 1 < len(argv):
      return argv[i + 1]
  return ""


def explain(error: BaseException, argv: Sequence[str]) -> str:
  """One line for a flag-parsing failure: the flag, then what is wrong."""
  text = str(error.args[0] if error.args else error)
  if len(text) > 1 and text[0] == text[-1] and text[0] in "'\"":
    text = text[1:-1]
  text = text.replace("\\n", "\n").replace("\\'", "'")
  if "Error whilst parsing config file" in text and "Traceback" in text:
    # An exception in the config's get_config, its traceback flattened:
    # the last line says what is wrong.
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    last = lines[-1] if len(lines) > 1 else re.split(r"\s(?=\w+Error: )",
                                                     text)[-1]
    return f"--config {_config_file(argv)}: the config file fails: {last}"
  if isinstance(error, OSError) or "Failed loading config file" in text:
    path = _config_file(argv)
    errno = re.search(r"\[Errno \d+\] ([^:\n]+)", text)
    reason = errno.group(1) if errno else text.splitlines()[-1].strip()
    return f"--config {path}: cannot load the config file ({reason})"
  suggestion = _SUGGESTION.search(text)
  if suggestion:
    right, wrong = suggestion.groups()
    flag = _config_override(argv, wrong) or f"--config...{wrong}"
    return f"{flag}: no such config field; did you mean {right!r}?"
  if isinstance(error, (AttributeError, KeyError)):
    key = _MISSING_KEY.search(text)
    flag = _config_override(argv, key.group(1)) if key else ""
    if flag:
      return (f"{flag}: no such config field (python -m pconvgan.config "
              f"{_config_file(argv) or 'configs/base.py'} lists them)")
  return " ".join(text.split())


def _config_fails(error: BaseException, argv: Sequence[str]) -> str:
  """One line for an error of the config file itself (a syntax error, an
  exception in its ``get_config``)."""
  cause = error
  while cause.__cause__ or cause.__context__:
    cause = cause.__cause__ or cause.__context__
  where = (f" at line {cause.lineno}" if isinstance(cause, SyntaxError)
           and cause.lineno else "")
  return (f"--config {_config_file(argv)}: the config file fails{where}: "
          f"{type(cause).__name__}: {' '.join(str(cause).split())}")


def flags_parser(prog: str, flag_values: flags.FlagValues | None = None
                 ) -> Callable[[list[str]], list[str]]:
  """A ``flags_parser`` for ``absl.app.run`` that exits with status 2 and one
  line on stderr for a flag it cannot parse (``flag_values``: default
  ``absl.flags.FLAGS``)."""
  values = flags.FLAGS if flag_values is None else flag_values

  def parse(argv: list[str]) -> list[str]:
    try:
      rest = values(argv)
      for name in values:
        flag = values[name]
        if flag.present and hasattr(flag, "config_filename"):
          list(flag.value.keys())  # config files load lazily: load it now
      return rest
    except (flags.Error, AttributeError, KeyError, OSError) as e:
      message = explain(e, argv)
    except Exception as e:  # pylint: disable=broad-except
      # Anything else comes from running the config file.
      message = _config_fails(e, argv)
    print(f"{prog}: error: {message}", file=sys.stderr)
    sys.exit(2)

  return parse
