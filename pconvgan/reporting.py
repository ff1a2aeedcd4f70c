"""What a run reports: metrics.jsonl, TensorBoard events, PNG sample grids."""

from __future__ import annotations

import json
import os
import sys
import threading
from typing import Mapping

import numpy as np
from PIL import Image

from pconvgan import metrics

HOLE_COLOUR = (1.0, 1.0, 1.0)  # how holes are shown in the masked input


def image_grid(rows: list[list[np.ndarray]], pad: int = 2) -> np.ndarray:
  """uint8 grid of float (H, W, 3) images in [0, 1], white between them."""
  h, w, _ = np.shape(rows[0][0])
  cols = max(len(r) for r in rows)
  grid = np.ones((len(rows) * (h + pad) + pad, cols * (w + pad) + pad, 3),
                 np.float32)
  for i, row in enumerate(rows):
    for j, image in enumerate(row):
      top, left = pad + i * (h + pad), pad + j * (w + pad)
      grid[top:top + h, left:left + w] = image
  return np.round(np.clip(grid, 0, 1) * 255).astype(np.uint8)


def label_columns(grid: np.ndarray, labels: list[str], cell: int,
                  pad: int = 2, height: int = 14) -> np.ndarray:
  """``grid`` (of ``image_grid``, cells ``cell`` pixels wide) with a white
  band on top naming each column, the label cut to the cell's width."""
  from PIL import ImageDraw  # pylint: disable=import-outside-toplevel
  band = Image.new("RGB", (grid.shape[1], height), "white")
  draw = ImageDraw.Draw(band)
  for j, label in enumerate(labels):
    left = pad + j * (cell + pad)
    text = label
    while text and draw.textlength(text) > cell:
      text = text[:-1]
    draw.text((left + 1, 1), text, fill="black")
  return np.concatenate([np.asarray(band), grid], axis=0)


def sample_grid(image: np.ndarray, mask: np.ndarray, output: np.ndarray,
                pad: int = 2) -> np.ndarray:
  """uint8 grid, one row per example: masked input | output | composite | truth."""
  image, mask, output = (np.asarray(a, np.float32) for a in (image, mask, output))
  masked = masked_input(image, mask)
  filled = metrics.composite(output, image, mask)
  return image_grid([[masked[i], output[i], filled[i], image[i]]
                     for i in range(len(image))], pad)


def masked_input(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
  """The image as the model sees it, holes shown in HOLE_COLOUR."""
  return image * mask + (1 - mask) * np.asarray(HOLE_COLOUR, np.float32)


def save_png(path: str, array: np.ndarray) -> None:
  os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
  Image.fromarray(array).save(path)


def read_metrics(path: str) -> list[dict]:
  """The records of a metrics.jsonl file (empty if it does not exist)."""
  if not os.path.exists(path):
    return []
  records = []
  with open(path) as f:
    for line in f:
      try:
        records.append(json.loads(line))
      except ValueError:  # a line cut short by a kill mid-write
        continue
  return records


def _plain(value):
  """A JSON-able Python scalar of a NumPy / JAX scalar."""
  if isinstance(value, (bool, str)):
    return value
  if isinstance(value, (int, np.integer)):
    return int(value)
  if isinstance(value, (float, np.floating, np.ndarray)):
    return float(value)
  return value


_IMPORT_LOCK = threading.Lock()


def _summary_writer():
  """tensorboardX's SummaryWriter class, imported without PyTorch.

  tensorboardX imports torch when it is installed, only to accept its
  tensors; that costs a training seconds of start-up for nothing here (we
  write numbers and NumPy images). Where torch is not imported yet, its
  import is made to fail while tensorboardX loads (a fraction of a second,
  once per process: a thread importing torch for the first time in that
  moment would fail too); a later ``import torch`` works as usual.
  """
  with _IMPORT_LOCK:
    if "tensorboardX" in sys.modules or "torch" in sys.modules:
      from tensorboardX import SummaryWriter  # pylint: disable=import-outside-toplevel
      return SummaryWriter
    sys.modules["torch"] = None  # `import torch` raises ImportError
    try:
      from tensorboardX import SummaryWriter  # pylint: disable=import-outside-toplevel
    finally:
      if "torch" in sys.modules and sys.modules["torch"] is None:
        del sys.modules["torch"]  # only our entry, not a real import
    return SummaryWriter


class MetricsLog:
  """Appends metrics to ``WORKDIR/metrics.jsonl`` and TensorBoard events to
  ``WORKDIR/tensorboard`` (tensorboardX: no TensorFlow needed).

  On resume from step ``start``, records past it (logged by the interrupted
  run after its last checkpoint) are dropped, so each step appears once.
  With ``write=False`` (every process of a multi-process run but the first)
  it only reads.
  """

  def __init__(self, workdir: str, start: int = 0, tensorboard: bool = True,
               write: bool = True):
    self.path = os.path.join(workdir, "metrics.jsonl")
    self.kept = [r for r in read_metrics(self.path) if r.get("step", 0) <= start]
    self._writer, self._write = None, write
    if not write:
      return
    os.makedirs(workdir, exist_ok=True)
    # Rewritten atomically: a kill at this moment leaves the old file whole.
    tmp = self.path + ".tmp"
    with open(tmp, "w") as f:
      f.writelines(json.dumps(r) + "\n" for r in self.kept)
      f.flush()
      os.fsync(f.fileno())
    os.replace(tmp, self.path)
    if tensorboard:
      self._writer = _summary_writer()(os.path.join(workdir, "tensorboard"),
                                   purge_step=start + 1 if start else None)

  def last(self, key: str, default=None):
    """``key`` of the latest kept record that has it (else ``default``)."""
    return next((r[key] for r in reversed(self.kept) if key in r), default)

  def write(self, step: int, record: Mapping) -> None:
    if not self._write:
      return
    record = {"step": int(step), **{k: _plain(v) for k, v in record.items()}}
    with open(self.path, "a") as f:
      f.write(json.dumps(record) + "\n")
    if self._writer is not None:
      for k, v in record.items():
        if k != "step" and isinstance(v, float):
          self._writer.add_scalar(k, v, step)

  def image(self, step: int, tag: str, grid: np.ndarray) -> None:
    if self._writer is not None:
      self._writer.add_image(tag, grid, step, dataformats="HWC")

  def close(self) -> None:
    if self._writer is not None:
      self._writer.close()
