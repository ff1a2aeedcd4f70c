"""Trains pconvgan: ``python train.py --config configs/base.py [--workdir DIR]``.

Override any config field with ``--config.SECTION.FIELD=VALUE``, e.g.
``--config.train.batch_size=8``. Running the same command again resumes from
the last checkpoint in ``WORKDIR/checkpoints``.
"""

import os
import sys

from absl import app
from absl import flags
from absl import logging
from ml_collections import config_flags

from pconvgan import checkpoint
from pconvgan import cli
from pconvgan import distributed
from pconvgan import stopping
from pconvgan import training
from pconvgan import workdir as workdir_lib

_CONFIG = config_flags.DEFINE_config_file(
    "config", None, "Path to a config file, e.g. configs/base.py.",
    lock_config=True)
_WORKDIR = flags.DEFINE_string(
    "workdir", None, "Directory of checkpoints, metrics and samples "
    "(default: runs/<config name>).")
flags.mark_flags_as_required(["config"])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
  # Orbax logs every save at INFO, and a failed write as many ERROR
  # tracebacks from its threads; train.py reports failures in one line.
  logging.set_verbosity(logging.FATAL)
  distributed.initialize_if_requested()
  config = _CONFIG.value
  workdir = os.path.expanduser(_WORKDIR.value or "") or os.path.join(
      "runs", os.path.splitext(os.path.basename(flags.FLAGS["config"].config_filename))[0])
  try:
    result = training.train(config, workdir)  # validates before any work
  except stopping.Stopped as e:
    message, code = f"train.py: {e}", 128 + e.signum
  except (ValueError, FileNotFoundError, training.NonFiniteLossError,
          workdir_lib.WorkdirBusyError, checkpoint.CheckpointWriteError) as e:
    message, code = f"train.py: error: {e}", 1
  else:
    message, code = None, 0
  if code:  # exits outside the except block: the error's frames are freed
    print(message, file=sys.stderr)
    sys.exit(code)
  print(f"done: step {result.get('step')} in {workdir} "
        f"(metrics.jsonl, samples/, checkpoints/)")


if __name__ == "__main__":
  app.run(main, flags_parser=cli.flags_parser("train.py"))
