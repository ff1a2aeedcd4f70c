"""Stopping a run cleanly on SIGINT (Ctrl-C) or SIGTERM (a scheduler's notice).

Inside ``on_signals()`` the first SIGINT or SIGTERM only records the request;
the training loop checks it after each step, saves a checkpoint of that step
and returns. A second SIGINT interrupts at once (KeyboardInterrupt), for a
run that is stuck. Data-loading worker processes ignore SIGINT
(``ignore_interrupts_in_worker``), so that a Ctrl-C, which the terminal sends
to every process of the group, reaches only the trainer, which then ends
them.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import threading
from typing import Iterator

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopRequest:
  """Which signal asked the run to stop (``None`` while none did)."""

  def __init__(self):
    self.signal: int | None = None

  def __bool__(self) -> bool:
    return self.signal is not None

  @property
  def name(self) -> str:
    return signal.Signals(self.signal).name if self.signal else ""


class Stopped(Exception):
  """The run stopped on a signal after saving the checkpoint of ``step``."""

  def __init__(self, signum: int, step: int, where: str):
    self.signum, self.step, self.where = signum, step, where
    super().__init__(
        f"stopped by {signal.Signals(signum).name} at step {step}; saved "
        f"{where}; run the same command to resume")


@contextlib.contextmanager
def on_signals() -> Iterator[StopRequest]:
  """Records SIGINT / SIGTERM in the StopRequest it yields (main thread only;
  elsewhere the signals keep their handlers and the request stays empty)."""
  request = StopRequest()
  if threading.current_thread() is not threading.main_thread():
    yield request
    return

  def handle(signum, frame):
    if request and signum == signal.SIGINT:
      raise KeyboardInterrupt  # a second Ctrl-C: stop now
    request.signal = request.signal or signum

  previous = {s: signal.signal(s, handle) for s in SIGNALS}
  try:
    yield request
  finally:
    for s, handler in previous.items():
      signal.signal(s, handler)


def ignore_interrupts_in_worker() -> None:
  """In a worker process (not the main process), SIGINT is ignored."""
  if (multiprocessing.parent_process() is not None
      and threading.current_thread() is threading.main_thread()):
    signal.signal(signal.SIGINT, signal.SIG_IGN)
