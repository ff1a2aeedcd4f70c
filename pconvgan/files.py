"""Finding the image and mask files of a folder; checking where outputs go."""

from __future__ import annotations

import os
from typing import Sequence


class UnreadableFileError(ValueError):
  """A file that exists but cannot be decoded; the message names it."""


def find_files(folder: str, extensions: Sequence[str], kind: str,
               items: str) -> list[str]:
  """Sorted paths under ``folder`` (recursive, through symlinked folders)
  ending in ``extensions`` (any case); errors name the folder: '<kind> folder not found', or that it
  holds no <items>. A leading ~ is the home folder."""
  folder = os.path.expanduser(folder)
  if os.path.isfile(folder):
    raise ValueError(f"{kind} folder {folder} is a file, not a folder")
  if not os.path.isdir(folder):
    raise FileNotFoundError(f"{kind} folder not found: {folder}")
  paths, visited = [], set()
  # Symlinked subfolders are followed, each real folder once (no loops).
  for root, dirs, names in os.walk(folder, followlinks=True):
    real = os.path.realpath(root)
    if real in visited:
      dirs[:] = []
      continue
    visited.add(real)
    paths += [os.path.join(root, name) for name in names
              if name.lower().endswith(tuple(extensions))]
  paths.sort()
  if not paths:
    raise ValueError(f"{kind} folder {folder} holds no {items} "
                     f"({', '.join(extensions)})")
  return paths


def output_problem(path: str, folder: bool) -> str | None:
  """Why ``path`` cannot be written as a folder (``folder``) or a file,
  before any work: something of the other kind in its place, a parent that
  is a file, or a first existing parent that is not writable. None if it
  can."""
  path = os.path.abspath(os.path.expanduser(path))
  if folder and os.path.isfile(path):
    return f"{path} is a file, not a folder"
  if not folder and os.path.isdir(path):
    return f"{path} is a folder, not a file"
  if not folder and os.path.isfile(path):  # overwritten in place
    return None if os.access(path, os.W_OK) else f"{path} is not writable"
  parent = path if folder else os.path.dirname(path)
  while not os.path.exists(parent):
    parent = os.path.dirname(parent)
  if not os.path.isdir(parent):
    return f"{parent} is a file, not a folder"
  if not os.access(parent, os.W_OK):
    return f"{parent} is not writable"
  return None
