"""Finding the image and mask files of a folder."""

from __future__ import annotations

import os
from typing import Sequence


class UnreadableFileError(ValueError):
  """A file that exists but cannot be decoded; the message names it."""


def find_files(folder: str, extensions: Sequence[str], kind: str,
               items: str) -> list[str]:
  """Sorted paths under ``folder`` (recursive, through symlinked folders)
  ending in ``extensions`` (any case); errors name the folder: '<kind> folder not found', or that it
  holds no <items>."""
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
