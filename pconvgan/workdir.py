"""A run's workdir: made writable before any work, locked while a run lives.

One training process per workdir (per process index in a multi-host run):
``lock(workdir)`` holds an exclusive ``flock`` on ``WORKDIR/train.lock``
while the run lives. The kernel drops the lock when its process dies, however
it dies, so a lock left by a dead run is taken over without any clean-up; the
file itself records who held it last.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import socket
import time
from typing import Iterator


class WorkdirBusyError(RuntimeError):
  """Another live process trains in this workdir."""


def prepare(workdir: str) -> str:
  """Creates ``workdir`` if needed and checks it is a writable directory;
  returns its absolute path. Errors name it and say what is wrong."""
  path = os.path.abspath(os.path.expanduser(workdir))
  if os.path.exists(path) and not os.path.isdir(path):
    raise ValueError(f"workdir {workdir} exists and is not a directory; "
                     "give --workdir a folder")
  try:
    os.makedirs(path, exist_ok=True)
  except OSError as e:
    raise ValueError(f"cannot create workdir {workdir}: {e.strerror}") from None
  if not os.access(path, os.W_OK | os.X_OK):
    raise ValueError(f"workdir {workdir} is not writable")
  return path


def lock_name(process_index: int = 0, process_count: int = 1) -> str:
  return "train.lock" if process_count == 1 else f"train.{process_index}.lock"


@contextlib.contextmanager
def lock(workdir: str, name: str = "train.lock") -> Iterator[str]:
  """Holds ``WORKDIR/name`` exclusively; raises WorkdirBusyError, naming the
  holder's pid, host and start time, if a live process holds it."""
  path = os.path.join(workdir, name)
  try:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
  except OSError as e:
    raise ValueError(f"cannot write the lock file {path}: {e.strerror}") from None
  try:
    try:
      fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
      if e.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
        raise
      holder = os.pread(fd, 200, 0).decode(errors="replace").strip()
      raise WorkdirBusyError(
          f"workdir {workdir} is in use by another training run "
          f"({holder or 'holder unknown'}); wait for it to end, stop it, or "
          "use another --workdir") from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, (f"pid {os.getpid()} on {socket.gethostname()} since "
                   f"{time.strftime('%Y-%m-%d %H:%M:%S')}\n").encode(), 0)
    yield path
  finally:
    os.close(fd)  # releases the lock


def remove_lock_of_refused_run(workdir: str, name: str, made_dir: bool,
                               made_lock: bool) -> None:
  """After a run refused before any work: removes the lock file ``name`` if
  the run made it, and the workdir too if the run made it and it is empty."""
  path = os.path.join(workdir, name)
  if made_lock and os.path.exists(path):
    os.remove(path)
  if made_dir and not os.listdir(workdir):
    os.rmdir(workdir)
