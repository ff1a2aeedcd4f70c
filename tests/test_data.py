"""The input pipeline: sources, decoding, bad files, determinism, state, sharding."""

import os

import numpy as np
import pytest
from PIL import Image

from pconvgan import data


def write_colour_images(folder, n, size=(40, 30)):
  """n images, image i a flat colour (i * 20) so that batches can be traced."""
  os.makedirs(folder, exist_ok=True)
  paths = []
  for i in range(n):
    path = os.path.join(folder, f"img_{i:02d}.png")
    Image.new("RGB", size, (i * 20, 0, 0)).save(path)
    paths.append(path)
  return paths


def ids(batch):
  """The colour index of each image of a batch."""
  return [int(round(v * 255 / 20)) for v in batch["image"][:, 0, 0, 0]]


def collect(loader, batches=None):
  out = []
  for i, batch in enumerate(loader):
    if batches is not None and i >= batches:
      break
    out.append(batch)
  return out


def test_list_images_recursive_and_errors(tmp_path):
  write_colour_images(tmp_path / "a", 2)
  Image.new("RGB", (8, 8)).save(tmp_path / "a" / "deep.JPG")
  os.makedirs(tmp_path / "a" / "b")
  Image.new("RGB", (8, 8)).save(tmp_path / "a" / "b" / "x.webp")
  (tmp_path / "a" / "notes.txt").write_text("not an image")
  paths = data.list_images(str(tmp_path / "a"))
  assert [os.path.basename(p) for p in paths] == [
      "x.webp", "deep.JPG", "img_00.png", "img_01.png"]
  os.makedirs(tmp_path / "empty")
  with pytest.raises(ValueError, match="empty holds no images"):
    data.list_images(str(tmp_path / "empty"))
  with pytest.raises(FileNotFoundError, match="image folder not found: .*missing"):
    data.list_images(str(tmp_path / "missing"))


def test_places365_list_and_missing_files(tmp_path):
  write_colour_images(tmp_path / "root" / "a" / "abbey", 3)
  lines = [f"/a/abbey/img_{i:02d}.png {i}" for i in range(3)]
  (tmp_path / "train.txt").write_text("\n".join(lines) + "\n")
  cfg = {"source": "places365", "path": str(tmp_path / "root"),
         "train_list": str(tmp_path / "train.txt"), "test_size": 1}
  train, test = data.split_sources(cfg)
  assert len(train) == 2 and len(test) == 1 and not set(train) & set(test)
  assert all(p.startswith(str(tmp_path / "root" / "a" / "abbey")) for p in train)
  (tmp_path / "train.txt").write_text("\n".join(lines + ["/a/abbey/gone.jpg 0"]))
  with pytest.raises(FileNotFoundError, match=r"1 of \d .* missing: .*gone.jpg"):
    data.split_sources(cfg)
  with pytest.raises(FileNotFoundError, match="list file not found"):
    data.split_sources(dict(cfg, train_list=str(tmp_path / "nope.txt")))


def test_split_is_deterministic_disjoint_and_sized(tmp_path):
  write_colour_images(tmp_path, 20)
  cfg = {"source": "folder", "path": str(tmp_path), "test_size": 5,
         "train_size": 10, "split_seed": 1}
  train, test = data.split_sources(cfg)
  assert len(train) == 10 and len(test) == 5 and not set(train) & set(test)
  assert data.split_sources(cfg) == (train, test)
  other = data.split_sources(dict(cfg, split_seed=2))
  assert other[1] != test


def test_config_errors_come_before_any_work():
  with pytest.raises(ValueError, match="data source must be one of"):
    data.split_sources({"source": "imagenet"})
  with pytest.raises(ValueError, match="needs data.path"):
    data.split_sources({"source": "folder"})
  with pytest.raises(ValueError, match="multiple of 32"):
    data.split_sources({"image_size": 100})


@pytest.mark.parametrize("mode, value, want", [
    ("L", 128, (128, 128, 128)),
    ("LA", (128, 7), (128, 128, 128)),
    ("RGBA", (10, 20, 30, 0), (10, 20, 30)),
    ("CMYK", (0, 0, 0, 0), (255, 255, 255)),
    ("I;16", 65535, (255, 255, 255)),
    ("I", 32896, (128, 128, 128)),
    ("F", 0.5, (128, 128, 128)),
    ("1", 1, (255, 255, 255)),
])
def test_every_mode_converts_to_rgb(tmp_path, mode, value, want):
  image = Image.new(mode, (4, 3), value)
  rgb = np.asarray(data.to_rgb(image))
  assert rgb.shape == (3, 4, 3) and rgb.dtype == np.uint8
  np.testing.assert_array_equal(rgb[0, 0], want)


def test_palette_image_converts(tmp_path):
  image = Image.new("P", (4, 4), 1)
  image.putpalette([0, 0, 0, 200, 100, 50] + [0] * 762)
  image.save(tmp_path / "p.png")
  np.testing.assert_array_equal(np.asarray(data.load_image(str(tmp_path / "p.png")))[0, 0],
                                (200, 100, 50))


def test_crops_upscale_small_images_and_are_centred():
  image = Image.fromarray(np.arange(20 * 10, dtype=np.uint8).reshape(10, 20))
  array = data.crop_to_array(image.convert("RGB"), 32)
  assert array.shape == (32, 32, 3) and array.dtype == np.float32
  assert 0 <= array.min() and array.max() <= 1
  wide = Image.new("RGB", (300, 100), (0, 0, 0))
  wide.paste((255, 255, 255), (150, 0, 300, 100))
  centre = data.crop_to_array(wide, 64)  # the middle 64 of 192 columns
  assert centre[0, 0, 0] == 0 and centre[0, -1, 0] == 1


def test_crop_resamples_like_resize_then_crop_at_any_aspect_ratio():
  rng = np.random.default_rng(0)
  image = Image.fromarray(rng.integers(0, 256, (90, 150, 3), dtype=np.uint8))
  for size, resize in ((32, 0), (32, 64), (64, 120)):
    got = data.crop_to_array(image, size, np.random.default_rng(1), resize)
    # Reference: the whole image resized, then the same random crop.
    short = max(size, resize)
    scale = short / 90
    full = image.resize((max(short, round(150 * scale)), short), Image.BICUBIC)
    crop_rng = np.random.default_rng(1)
    left = int(crop_rng.integers(0, full.size[0] - size + 1))
    top = int(crop_rng.integers(0, full.size[1] - size + 1))
    want = np.asarray(full.crop((left, top, left + size, top + size)),
                      np.float32) / 255
    assert np.abs(got - want).mean() < 0.01, (size, resize)
  strip = Image.new("RGB", (400_000, 1), (10, 200, 30))  # costs only the crop
  array = data.crop_to_array(strip, 128, np.random.default_rng(0))
  assert array.shape == (128, 128, 3)
  np.testing.assert_allclose(array[64, 64], np.array([10, 200, 30]) / 255,
                             atol=1 / 255)


def test_symlinked_folders_are_searched_once(tmp_path):
  write_colour_images(tmp_path / "real", 2)
  os.makedirs(tmp_path / "top")
  write_colour_images(tmp_path / "top", 1)
  os.symlink(tmp_path / "real", tmp_path / "top" / "linked")
  os.symlink(tmp_path / "top", tmp_path / "top" / "loop")  # a cycle
  paths = data.list_images(str(tmp_path / "top"))
  assert [os.path.relpath(p, tmp_path / "top") for p in paths] == [
      "img_00.png", "linked/img_00.png", "linked/img_01.png"]


def test_corrupt_files_are_skipped_warned_and_counted(tmp_path, capfd):
  write_colour_images(tmp_path, 4)
  (tmp_path / "zero.png").write_bytes(b"")
  (tmp_path / "text.jpg").write_text("hello")
  good = tmp_path / "img_00.png"
  (tmp_path / "truncated.png").write_bytes(good.read_bytes()[:60])
  paths = data.list_images(str(tmp_path))
  loader = data.make_loader(paths, batch_size=3, image_size=32, train=False,
                            mask_config={"kind": "box"})
  batches = collect(loader)
  assert sum(len(b["image"]) for b in batches) == 7
  assert sum(int(b["skipped"].sum()) for b in batches) == 3
  assert all(np.isfinite(b["image"]).all() for b in batches)
  # Evaluation gives a black placeholder (left out), never a duplicate.
  images = np.concatenate([b["image"] for b in batches])
  flags = np.concatenate([b["skipped"] for b in batches]).astype(bool)
  assert (images[flags] == 0).all() and (images[~flags].max(axis=(1, 2, 3)) > 0
                                         ).sum() >= 3
  err = capfd.readouterr().err
  for name in ("zero.png", "text.jpg", "truncated.png"):
    assert f"skipping unreadable image {tmp_path / name}" in err


def test_training_batches_are_deterministic_by_seed(tmp_path):
  paths = write_colour_images(tmp_path, 10)
  def run(seed):
    loader = data.make_loader(paths, batch_size=4, image_size=32, train=True,
                              seed=seed, mask_config={"kind": "freeform"})
    return collect(loader, 4)
  a, b, c = run(0), run(0), run(1)
  for x, y in zip(a, b):
    np.testing.assert_array_equal(x["image"], y["image"])
    np.testing.assert_array_equal(x["mask"], y["mask"])
  assert [ids(x) for x in a] != [ids(x) for x in c]
  # Repeats past one epoch; each epoch is a permutation of all the images.
  loader = data.make_loader(paths, batch_size=5, image_size=32, train=True,
                            seed=0, mask_config={"kind": "box"})
  seen = sum((ids(x) for x in collect(loader, 4)), [])
  assert sorted(seen[:10]) == list(range(10))
  assert sorted(seen[10:]) == list(range(10))
  assert seen[:10] != seen[10:]


def test_restored_iterator_state_gives_the_same_next_batches(tmp_path):
  paths = write_colour_images(tmp_path, 7)
  loader = data.make_loader(paths, batch_size=3, image_size=32, train=True,
                            seed=3, mask_config={"kind": "box"})
  it = iter(loader)
  for _ in range(3):
    next(it)
  state = it.get_state()
  want = [next(it) for _ in range(4)]
  again = iter(data.make_loader(paths, batch_size=3, image_size=32, train=True,
                                seed=3, mask_config={"kind": "box"}))
  again.set_state(state)
  for w in want:
    got = next(again)
    np.testing.assert_array_equal(got["image"], w["image"])
    np.testing.assert_array_equal(got["mask"], w["mask"])


def test_per_process_shards_partition_the_data(tmp_path):
  paths = write_colour_images(tmp_path, 9)
  shards = []
  for index in range(3):
    loader = data.make_loader(paths, batch_size=6, image_size=32, train=False,
                              shard_index=index, shard_count=3,
                              mask_config={"kind": "paper"})
    shards.append(sum((ids(b) for b in collect(loader)), []))
  assert all(len(s) == 3 for s in shards)
  assert sorted(sum(shards, [])) == list(range(9))
  with pytest.raises(ValueError, match="multiple of the 3 processes"):
    data.make_loader(paths, batch_size=4, shard_index=0, shard_count=3)


@pytest.mark.slow
def test_worker_processes_are_deterministic_and_give_the_same_examples(tmp_path):
  paths = write_colour_images(tmp_path, 6)
  def run(workers):
    loader = data.make_loader(paths, batch_size=2, image_size=32, train=True,
                              seed=0, workers=workers,
                              mask_config={"kind": "box"})
    return collect(loader, 6)  # two epochs: records 0-11 whatever the workers
  def examples(batches):
    return sorted((i, float(m.sum())) for b in batches
                  for i, m in zip(ids(b), b["mask"]))
  a, b, c = run(2), run(2), run(0)
  for x, y in zip(a, b):
    np.testing.assert_array_equal(x["image"], y["image"])
    np.testing.assert_array_equal(x["mask"], y["mask"])
  # Workers batch their own records, but each record is the same example.
  assert examples(a) == examples(c)
  assert [i for i, _ in examples(a)] == sorted(list(range(6)) * 2)


def test_demo_dataset_loads(tmp_path):
  train, test = data.split_sources({"source": "demo"})
  assert len(train) + len(test) == 9
  loader = data.make_loader(train, batch_size=8, image_size=64, train=True,
                            mask_config={"kind": "paper"})
  batch = next(iter(loader))
  assert batch["image"].shape == (8, 64, 64, 3)
  assert batch["mask"].shape == (8, 64, 64, 1)
  assert int(batch["skipped"].sum()) == 0
  assert batch["image"].std() > 0.05


def test_random_scale_crops_zoom_and_rotations_turn(tmp_path):
  # A photo whose left half is black and right half white, 700x350: at the
  # smallest scale a 32 px crop spans a third of its width, at the largest a
  # twentieth, so crops at small scales more often hold both halves.
  os.makedirs(tmp_path / "img")
  array = np.zeros((350, 700, 3), np.uint8)
  array[:, 350:] = 255
  Image.fromarray(array).save(tmp_path / "img" / "half.png")
  paths = [str(tmp_path / "img" / "half.png")]

  def mixed_fraction(scale, rotate=False):
    loader = data.make_loader(paths, batch_size=1, image_size=32,
                              mask_config={"kind": "paper"}, seed=0,
                              random_flip=False, random_scale=scale,
                              random_rotate=rotate, shard_index=0,
                              shard_count=1)
    crops = [b["image"][0] for b in collect(loader, 200)]
    mixed = np.mean([c.min() < 0.2 and c.max() > 0.8 for c in crops])
    return mixed, crops

  small, _ = mixed_fraction((32, 40))
  large, _ = mixed_fraction((300, 320))
  assert small > 2 * large
  _, turned = mixed_fraction((32, 32), rotate=True)
  # Unrotated, the boundary is vertical; turned by 90 degrees, horizontal.
  horizontal = [c for c in turned if np.abs(np.diff(c[:, 0, 0])).max() > 0.5]
  assert horizontal
  with pytest.raises(ValueError, match="random_scale"):
    data.DataConfig(image_size=64, random_scale=(32, 128))


def test_random_scale_never_enlarges_past_the_photo(tmp_path, monkeypatch):
  # A 90x60 photo under random shorter sides of 32-400 px: crops are taken at
  # most at its own size (60), never from an enlarged, blurred copy.
  os.makedirs(tmp_path / "img")
  Image.fromarray(np.zeros((60, 90, 3), np.uint8)).save(tmp_path / "img" / "a.png")
  sides = []
  crop = data.crop_to_array

  def recording_crop(image, size, rng=None, resize=0):
    sides.append(resize)
    return crop(image, size, rng, resize)

  monkeypatch.setattr(data, "crop_to_array", recording_crop)
  loader = data.make_loader([str(tmp_path / "img" / "a.png")], batch_size=1,
                            image_size=32, mask_config={"kind": "paper"},
                            random_scale=(32, 400), shard_index=0,
                            shard_count=1)
  collect(loader, 60)
  assert len(sides) >= 60 and max(sides) == 60 and min(sides) < 60
