"""The input pipeline: image sources, decoding, crops, masks, a grain loader.

Each example is ``{'image': (H, W, 3) float32 in [0, 1], 'mask': (H, W, 1)
float32 with 1 = known pixel, 'skipped': int32}``; ``skipped`` is 1 when the
file at this example's index could not be read (one warning line names it):
in training it is replaced by the next readable file, in evaluation by a
black placeholder that the evaluation leaves out. Summed over batches, it
counts unreadable files, also from worker processes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import sys
from typing import Sequence

from absl import flags
import grain
import numpy as np
from PIL import Image
from PIL import ImageOps

from pconvgan import checks
from pconvgan import files
from pconvgan import masks as masks_lib
from pconvgan import stopping

# Training and evaluation folders (a run's split depends on this list: keep
# it); inpaint_photos also reads PHOTO_EXTENSIONS.
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp")
PHOTO_EXTENSIONS = IMAGE_EXTENSIONS + (".tif", ".tiff", ".gif")
SOURCES = ("demo", "folder", "places365", "paths")


@dataclasses.dataclass(frozen=True)
class DataConfig:
  """Where images come from and how they are prepared (section ``data``).

  Sources: 'demo' (the built-in photographs), 'folder' (images under
  ``path``, recursive), 'places365' (``train_list`` / ``test_list`` files of
  'relative/path label' lines under the root ``path``) or 'paths' (given
  explicitly to ``split_sources``). Without a test list or folder the test
  images are held out of the training images by ``split_seed``. A
  ``resize`` above image_size gives crops of a part of the image, the same
  way in training and evaluation.
  """
  source: str = "demo"  # demo | folder | places365
  path: str = ""  # image folder, or the Places365 root (e.g. data_256)
  train_list: str = ""  # Places365 list, e.g. places365_train_standard.txt
  test_list: str = ""  # test list; empty: hold out test_size images
  test_path: str = ""  # separate test folder; empty: hold out
  train_size: int = 0  # training images used (0 = all)
  test_size: int = 0  # test images (0 = all of a test list or folder)
  split_seed: int = 0  # seed of the train/test split and subset
  image_size: int = 128  # side of the square crops
  resize: int = 0  # shorter side before cropping (0 = image_size)
  random_crop: bool = True  # random (else centred) training crops
  random_flip: bool = True  # random left-right flips in training
  random_scale: tuple = (0, 0)  # (min, max) random shorter side, log-uniform, at most the image's own; (0, 0) = resize
  random_rotate: bool = False  # random 90-degree rotations in training
  workers: int = 0  # grain worker processes (0 = in the main process)
  seed: int = 0  # seed of shuffling, augmentation, training masks

  def __post_init__(self):
    if self.source not in SOURCES:
      raise ValueError(f"data source must be one of {SOURCES}, got {self.source!r}")
    if self.source in ("folder", "places365") and not self.path:
      raise ValueError(f"data source {self.source!r} needs data.path")
    if self.source == "places365" and not self.train_list:
      raise ValueError("data source 'places365' needs data.train_list, e.g. "
                       "places365_train_standard.txt")
    if self.image_size < 1 or self.image_size % checks.MULTIPLE:
      raise ValueError(f"data.image_size must be a positive multiple of "
                       f"{checks.MULTIPLE}, got {self.image_size}")
    if self.resize and self.resize < self.image_size:
      raise ValueError(f"data.resize ({self.resize}) must be 0 or >= "
                       f"data.image_size ({self.image_size})")
    lo, hi = self.random_scale
    if (lo, hi) != (0, 0) and not self.image_size <= lo <= hi:
      raise ValueError(f"data.random_scale must be (0, 0) or (min, max) with "
                       f"data.image_size ({self.image_size}) <= min <= max, got "
                       f"{self.random_scale}")
    for name in ("train_size", "test_size", "workers", "resize"):
      if getattr(self, name) < 0:
        raise ValueError(f"data.{name} must be >= 0, got {getattr(self, name)}")


def demo_folder() -> str:
  """The built-in demo photographs (see pconvgan/demo_data/README.md)."""
  return os.path.join(os.path.dirname(__file__), "demo_data")


def list_images(folder: str, extensions=IMAGE_EXTENSIONS) -> list[str]:
  """Sorted image paths under ``folder``, recursively; errors if there are none."""
  return files.find_files(folder, extensions, "image", "images")


def read_file_list(list_file: str, root: str) -> list[str]:
  """Paths of a Places365-style list ('relative/path [label]' lines) under ``root``."""
  list_file, root = os.path.expanduser(list_file), os.path.expanduser(root)
  if not os.path.isfile(list_file):
    raise FileNotFoundError(f"image list file not found: {list_file}")
  paths = []
  with open(list_file) as f:
    for line in f:
      parts = line.split()
      if parts:
        paths.append(os.path.join(root, parts[0].lstrip("/")))
  if not paths:
    raise ValueError(f"image list file {list_file} names no images")
  return paths


def check_exist(paths: Sequence[str], what: str) -> None:
  """Errors, naming some, if any of ``paths`` does not exist."""
  missing = [p for p in paths if not os.path.isfile(p)]
  if missing:
    shown = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
    raise FileNotFoundError(
        f"{len(missing)} of {len(paths)} {what} images are missing: {shown}")


def _subset(paths: list[str], size: int, rng: np.random.Generator) -> list[str]:
  if size and size < len(paths):
    keep = np.sort(rng.permutation(len(paths))[:size])
    return [paths[i] for i in keep]
  return paths


def split_sources(config, paths: Sequence[str] | None = None
                  ) -> tuple[list[str], list[str]]:
  """(train paths, test paths) for a DataConfig; every path checked to exist.

  With one pool of images, the split is a permutation by ``split_seed``: the
  first ``test_size`` images are the test set, the next ``train_size`` (or all
  the rest) the training set. Errors name the missing folder, list or files.
  """
  cfg = checks.as_config(DataConfig, config)
  rng = np.random.default_rng(cfg.split_seed)
  test = None
  if cfg.source == "demo":
    pool = list_images(demo_folder())
  elif cfg.source == "folder":
    pool = list_images(cfg.path)
  elif cfg.source == "places365":
    pool = read_file_list(cfg.train_list, cfg.path)
  else:
    if not paths:
      raise ValueError("data source 'paths' needs a non-empty list of paths")
    pool = list(paths)
  if cfg.test_list:
    test = read_file_list(cfg.test_list, cfg.path)
  elif cfg.test_path:
    test = list_images(cfg.test_path)

  if test is None:
    order = rng.permutation(len(pool))
    n_test = cfg.test_size or max(1, len(pool) // 10)
    if n_test >= len(pool):
      raise ValueError(f"test_size {n_test} leaves no training images out of "
                       f"{len(pool)}")
    test = [pool[i] for i in np.sort(order[:n_test])]
    rest = np.sort(order[n_test:])
    train = [pool[i] for i in rest]
  else:
    train = pool
    test = _subset(test, cfg.test_size, rng)
  train = _subset(train, cfg.train_size, rng)
  check_exist(train, "training")
  check_exist(test, "test")
  return train, test


def to_rgb(image: Image.Image) -> Image.Image:
  """An 8-bit RGB image from any Pillow mode (L, LA, P, RGBA, I;16, I, F, CMYK…)."""
  if image.mode == "RGB":
    return image
  if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
    grey = np.asarray(image, np.float64)
    if image.mode.startswith("I;16") or grey.max() > 255:
      grey = grey / 257.0
    elif image.mode == "F" and grey.max() <= 1.0:
      grey = grey * 255.0
    grey = np.clip(np.round(grey), 0, 255).astype(np.uint8)
    return Image.fromarray(grey).convert("RGB")
  if image.mode == "P":
    image = image.convert("RGBA")
  return image.convert("RGB")


def load_image(path: str, min_side: int = 0) -> Image.Image:
  """Decodes ``path`` to RGB, turned upright by its EXIF orientation. For
  JPEGs, decodes at a reduced scale that keeps the shorter side >=
  ``min_side`` (memory bounded by the size used). Raises OSError/ValueError
  if unreadable."""
  with Image.open(path) as image:
    if min_side and image.format == "JPEG":
      w, h = image.size
      scale = max(1.0, min(w, h) / min_side)
      image.draft("RGB", (max(1, int(w / scale)), max(1, int(h / scale))))
    image.load()
    return to_rgb(ImageOps.exif_transpose(image))


def crop_to_array(image: Image.Image, size: int,
                  rng: np.random.Generator | None = None,
                  resize: int = 0) -> np.ndarray:
  """Resizes the shorter side to ``resize`` (default ``size``; up or down),
  then crops size x size: centred without ``rng``, at random with it. Returns
  float32 (size, size, 3) in [0, 1].

  Only the crop's own region is resampled, so the cost is that of the crop,
  whatever the image's shape (a 1 x 400000 strip costs no more than a photo).
  """
  w, h = image.size
  short = max(resize, size)
  scale = short / min(w, h)
  new = (max(short, round(w * scale)), max(short, round(h * scale)))
  if rng is None:
    left, top = (new[0] - size) // 2, (new[1] - size) // 2
  else:
    left = int(rng.integers(0, new[0] - size + 1))
    top = int(rng.integers(0, new[1] - size + 1))
  if new == (w, h):
    crop = image.crop((left, top, left + size, top + size))
  else:
    sx, sy = w / new[0], h / new[1]
    box = (left * sx, top * sy, (left + size) * sx, (top + size) * sy)
    crop = image.resize((size, size), Image.BICUBIC, box=box)
  return np.asarray(crop, np.float32) / 255.0


_WARNED: set[str] = set()


def _warn_unreadable(path: str, error: Exception) -> None:
  if path not in _WARNED:
    _WARNED.add(path)
    print(f"pconvgan: skipping unreadable image {path}: {error}", file=sys.stderr,
          flush=True)


class _IndexSource:
  """A grain data source whose records are the image indices.

  Its repr names a digest of the paths: grain stores it in the iterator state
  and refuses to restore a state onto another image list.
  """

  def __init__(self, paths: Sequence[str]):
    self._n = len(paths)
    self._digest = hashlib.sha1("\n".join(paths).encode()).hexdigest()[:12]

  def __repr__(self) -> str:
    return f"ImageIndices(n={self._n}, paths_sha1={self._digest})"

  def __len__(self) -> int:
    return self._n

  def __getitem__(self, index: int) -> int:
    return index


class LoadExample(grain.transforms.RandomMap):
  """Index -> {'image', 'mask', 'skipped'}: decode, crop, augment, add a mask.

  Training randomness comes from grain's per-record generator, seeded by the
  sampler's seed and the record's position in the sampled stream, so every
  epoch differs and a resumed iterator repeats exactly. Evaluation masks come
  from (mask_seed, image index), as ``masks.export_masks`` writes them.
  """

  def __init__(self, paths: Sequence[str], image_size: int, mask_config, *,
               train: bool, random_crop: bool = True,
               random_flip: bool = True, mask_seed: int = 0, resize: int = 0,
               random_scale: tuple = (0, 0), random_rotate: bool = False):
    self.paths = list(paths)
    self.size = image_size
    self.resize = max(resize, image_size)
    self.random_scale = tuple(random_scale) if train and any(random_scale) else ()
    self.random_rotate = random_rotate
    self.train = train
    self.random_crop = random_crop
    self.random_flip = random_flip
    self.mask_seed = mask_seed
    self.sample_mask = masks_lib.mask_sampler(mask_config, image_size,
                                              image_size, train=train)

  def __setstate__(self, state):
    # Unpickled in a grain worker process: Ctrl-C is the trainer's to handle.
    self.__dict__.update(state)
    stopping.ignore_interrupts_in_worker()

  def _load(self, index: int) -> tuple[Image.Image | None, int]:
    """(image, number of unreadable files met): in training the next
    readable file stands in for an unreadable one (the unreadable ones are
    paths ``index``, ``index + 1``, ... modulo their count); in evaluation,
    ``None``."""
    n = len(self.paths)
    min_side = max(self.random_scale) if self.random_scale else self.resize
    for step in range(n if self.train else 1):
      path = self.paths[(index + step) % n]
      try:
        return load_image(path, min_side), step
      except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
        _warn_unreadable(path, e)
    if not self.train:
      return None, 1
    raise RuntimeError(f"none of the {n} images could be read, e.g. "
                       f"{self.paths[index % n]}")

  def random_map(self, index: int, rng: np.random.Generator) -> dict:
    image, skipped = self._load(index)
    if self.train:
      crop_rng = rng if self.random_crop else None
      resize = self.resize
      if self.random_scale:
        lo, hi = self.random_scale
        resize = int(round(np.exp(rng.uniform(np.log(lo), np.log(hi)))))
        # Never enlarged past its own size: a small photograph's crops stay
        # as sharp as the photograph.
        resize = min(resize, max(self.size, min(image.size)))
      array = crop_to_array(image, self.size, crop_rng, resize)
      if self.random_flip and rng.random() < 0.5:
        array = np.ascontiguousarray(array[:, ::-1])
      if self.random_rotate:
        array = np.ascontiguousarray(np.rot90(array, int(rng.integers(4))))
      mask = self.sample_mask(rng, index)
    else:
      array = (np.zeros((self.size, self.size, 3), np.float32) if image is None
               else crop_to_array(image, self.size, None, self.resize))
      mask = self.sample_mask(masks_lib.index_rng(self.mask_seed, index), index)
    return {"image": array, "mask": mask.astype(np.float32),
            "skipped": np.int32(skipped),
            "skipped_from": np.int32(index % len(self.paths)),
            "paths": np.int32(len(self.paths))}


def make_loader(paths: Sequence[str], *, batch_size: int, image_size: int = 128,
                mask_config=None, train: bool = True, seed: int = 0,
                workers: int = 0, random_crop: bool = True,
                random_flip: bool = True, mask_seed: int = 0, resize: int = 0,
                random_scale: tuple = (0, 0), random_rotate: bool = False,
                shard_index: int | None = None, shard_count: int | None = None
                ) -> grain.DataLoader:
  """A grain DataLoader of batches of this process's share of ``paths``.

  ``batch_size`` is the global batch: each of ``shard_count`` processes (by
  default ``jax.process_count()``) gets ``batch_size / shard_count`` examples
  per batch from its own shard of the data. Training shuffles by ``seed``,
  repeats forever and drops the last partial batch; evaluation reads every
  image once, in order, keeping the last partial batch. Iterators from
  ``iter(loader)`` have ``get_state`` / ``set_state`` for checkpoints.
  """
  if shard_count is None or shard_index is None:
    import jax  # pylint: disable=import-outside-toplevel
    shard_index, shard_count = jax.process_index(), jax.process_count()
  if batch_size < 1 or batch_size % shard_count:
    raise ValueError(f"batch_size {batch_size} must be a positive multiple of "
                     f"the {shard_count} processes")
  if not paths:
    raise ValueError("make_loader needs at least one image path")
  if workers and not flags.FLAGS.is_parsed():
    flags.FLAGS.mark_as_parsed()  # grain's workers read absl flags
  shard = grain.sharding.ShardOptions(shard_index, shard_count,
                                      drop_remainder=train)
  loader_shard = None
  if train and shard_count > 1:
    # Every process walks the same shuffled stream and takes every
    # shard_count-th record of it: global batch k holds the records of a
    # one-process batch k (in another order), with the same per-record
    # randomness, so a run's losses do not depend on how many processes
    # share it.
    shard, loader_shard = grain.sharding.NoSharding(), shard
  sampler = grain.samplers.IndexSampler(
      num_records=len(paths), shard_options=shard, shuffle=train,
      num_epochs=None if train else 1, seed=seed)
  operations = [
      LoadExample(paths, image_size, mask_config, train=train,
                  random_crop=random_crop, random_flip=random_flip,
                  mask_seed=mask_seed, resize=resize,
                  random_scale=random_scale, random_rotate=random_rotate),
      grain.transforms.Batch(batch_size // shard_count, drop_remainder=train),
  ]
  return grain.DataLoader(data_source=_IndexSource(paths), sampler=sampler,
                          operations=operations, worker_count=workers,
                          shard_options=loader_shard)


def close_iterator(iterator) -> None:
  """Stops a loader iterator's worker processes and frees their shared memory
  now rather than at garbage collection (grain's DataLoaderIterator has no
  close of its own; the dataset iterator inside it has)."""
  close = getattr(getattr(iterator, "_iterator", iterator), "close", None)
  if close is not None:
    close()
  _finish_shared_memory_deletes()


def _finish_shared_memory_deletes() -> None:
  """Waits for grain's background deletions of received shared-memory
  batches, so none is still pending (and reported leaked) at exit. Grain has
  no public call for this; without its private pool there is nothing to do."""
  try:
    from grain._src.python.ipc import shared_memory_array  # pylint: disable=import-outside-toplevel
    cls = shared_memory_array.SharedMemoryArray
    pool = cls._del_thread_pool  # pylint: disable=protected-access
  except (ImportError, AttributeError):
    return
  if pool is not None:
    cls._disable_async_del()  # pylint: disable=protected-access
    pool.close()
    pool.join()


def loaders_from_config(data_config, mask_config, batch_size: int,
                        eval_batch_size: int | None = None
                        ) -> tuple[grain.DataLoader, grain.DataLoader]:
  """(training loader, evaluation loader) from the configs; errors before any
  image is decoded."""
  cfg = checks.as_config(DataConfig, data_config)
  train_paths, test_paths = split_sources(cfg)
  common = dict(image_size=cfg.image_size, mask_config=mask_config,
                workers=cfg.workers, resize=cfg.resize)
  train = make_loader(train_paths, batch_size=batch_size, train=True,
                      seed=cfg.seed, random_crop=cfg.random_crop,
                      random_flip=cfg.random_flip,
                      random_scale=cfg.random_scale,
                      random_rotate=cfg.random_rotate, **common)
  # Every process reads the same evaluation images (the sample crops).
  test = make_loader(test_paths, batch_size=eval_batch_size or batch_size,
                     train=False, seed=cfg.seed, shard_index=0, shard_count=1,
                     **common)
  return train, test
