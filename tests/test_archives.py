"""Readers of the corpus' containers: Qt .rcc bundles, their credits, jigzo
puzzles; and a corpus built from them."""

import io
import json
import os
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from pconvgan import archives, corpus
from tests.test_corpus import jpeg, make_deb


def make_rcc(files: dict, compress=(), version=3) -> bytes:
  """A Qt binary resource bundle written from the format's description:
  breadth-first tree whose directories list their children's first index
  and count, names as (u16 length, u32 hash, UTF-16BE), data as (u32
  length, bytes), zlib entries prefixed with the u32 uncompressed size."""
  tree = {}
  for path in files:
    node = tree
    *dirs, leaf = path.split("/")
    for d in dirs:
      node = node.setdefault(d, {})
    node[leaf] = path
  names, name_offsets = b"", {}

  def name_offset(name):
    nonlocal names
    if name not in name_offsets:
      name_offsets[name] = len(names)
      encoded = name.encode("utf-16-be")
      names += struct.pack(">HI", len(name), 0) + encoded
    return name_offsets[name]

  payload, nodes = b"", []
  size = 14 if version == 1 else 22
  # Breadth-first: a directory's children take consecutive indices.
  order = [("", tree)]
  index = 0
  layout = {}
  while index < len(order):
    name, node = order[index]
    if isinstance(node, dict):
      children = sorted(node.items())
      layout[index] = (len(order), len(children))
      order.extend(children)
    index += 1
  for i, (name, node) in enumerate(order):
    offset = name_offset(name) if i else 0
    if isinstance(node, dict):
      first, count = layout[i]
      record = struct.pack(">IHII", offset, 0x02, count, first)
    else:
      data = files[node]
      flags = 0
      if node in compress:
        data = struct.pack(">I", len(data)) + zlib.compress(data)
        flags = 0x01
      record = struct.pack(">IHHHI", offset, flags, 0, 0, len(payload))
      payload += struct.pack(">I", len(data)) + data
    nodes.append(record + b"\0" * (size - len(record)))
  header = 24 if version >= 3 else 20
  tree_bytes = b"".join(nodes)
  tree_at = header
  payload_at = tree_at + len(tree_bytes)
  names_at = payload_at + len(payload)
  head = b"qres" + struct.pack(">IIII", version, tree_at, payload_at, names_at)
  if version >= 3:
    head += struct.pack(">I", 0)
  return head + tree_bytes + payload + names


@pytest.mark.parametrize("version", [1, 2, 3])
def test_rcc_files_reads_folders_and_compressed_entries(version):
  files = {"app/res/a.webp": b"A" * 300, "app/res/sub/b.txt": b"hello",
           "app/README": "Grüße".encode(), "top.bin": bytes(range(256))}
  data = make_rcc(files, compress={"app/res/a.webp", "top.bin"},
                  version=version)
  assert archives.rcc_files(data) == files


def test_rcc_files_refuses_other_files():
  with pytest.raises(ValueError, match="qres"):
    archives.rcc_files(b"PK\x03\x04" + b"\0" * 40)


README = """Copyright: Timothée Giet, 2022
License: CC-BY-SA 4.0
Files:
square.svg
wonders/key.svg

Copyright: Charles J. Sharp
Source: https://commons.wikimedia.org/wiki/File:Cheetah.jpg
License: CC-BY-SA-4.0
Comments: cropping, sharpening
Files: cheetah.webp

Copyright: 2000, 2008 Bruno Coudoin and others
License: Public domain
Files:
wonders/colosseum.webp
Comment: based on a photo by U. O.

Copyright: Someone
License: CC0-1.0
tower_0.webp
tower_background.webp
Comment: based on a photo by Cnyborg, license CC-BY-SA 3.0
"""


def test_credit_stanzas_take_every_way_of_listing_files():
  stanzas = archives.credit_stanzas(README)
  assert [s["Files"].split() for s in stanzas] == [
      ["square.svg", "wonders/key.svg"], ["cheetah.webp"],
      ["wonders/colosseum.webp"], ["tower_0.webp", "tower_background.webp"]]
  assert stanzas[1]["Comment"] == "cropping, sharpening"
  assert stanzas[3]["Comment"].startswith("based on a photo by Cnyborg")


def test_rcc_credit_finds_the_readme_above_the_file():
  files = {"act/resource/README": README.encode(),
           "act/resource/cheetah.webp": b"",
           "act/resource/wonders/colosseum.webp": b"",
           "act/resource/images/tower_background.webp": b"",
           "act/resource/images/README": README.encode(),
           "act/resource/lion.webp": b""}
  cheetah = archives.rcc_credit(files, "act/resource/cheetah.webp")
  assert (cheetah["Copyright"], cheetah["License"]) == ("Charles J. Sharp",
                                                        "CC-BY-SA-4.0")
  assert cheetah["Source"].endswith("Cheetah.jpg")
  colosseum = archives.rcc_credit(files, "act/resource/wonders/colosseum.webp")
  assert colosseum["License"] == "Public domain"
  tower = archives.rcc_credit(files, "act/resource/images/tower_background.webp")
  assert tower["Copyright"] == "Someone"
  with pytest.raises(ValueError, match="lion.webp"):
    archives.rcc_credit(files, "act/resource/lion.webp")


def test_normalise_licence():
  assert archives.normalise_licence("CC-BY-SA 4.0") == "CC-BY-SA-4.0"
  assert archives.normalise_licence("CC-BY  2.0") == "CC-BY-2.0"
  assert archives.normalise_licence("Public Domain") == "public domain"
  assert archives.normalise_licence("GPL-2+") == "GPL-2+"


def make_pzl(photo: bytes, box) -> bytes:
  """A jigzo puzzle: header lines, then (name, length, bytes) entries."""
  left, top, width, height = box
  mapping = (f"#texture map data\nimage {left} {top} {width} {height} 1 1\n"
             "crop000 0 0 10 10 5 5 0 0 0 0\n").encode()
  entries = [("p.map", mapping), ("p-t.jpg", jpeg((40, 30), 5)),
             ("p.png", b"\x89PNG not read"), ("p.jpg", photo)]
  out = b"PzlF\n0.1\np\nhttp://example.org/\n"
  for name, data in entries:
    out += f"{name}\n{len(data)}\n".encode() + data
  return out


def test_pzl_photo_returns_the_sheet_and_the_photo_box():
  sheet = jpeg((256, 256), 3)
  data, box = archives.pzl_photo(make_pzl(sheet, (0, 0, 200, 150)))
  assert data == sheet and box == (0, 0, 200, 150)
  with pytest.raises(ValueError, match="PzlF"):
    archives.pzl_photo(b"GIF89a")


def make_edj(*jpegs: bytes) -> bytes:
  """An Eet file's shape: its magic, a directory, then entries (a
  compressed one holding a stray JPEG start marker too)."""
  out = archives.EET_MAGIC + struct.pack(">2i", len(jpegs) + 1, 0)
  out += zlib.compress(b"\xff\xd8\xff" + bytes(range(256)) * 8)
  for data in jpegs:
    out += b"images/" + str(len(data)).encode() + data
  return out


def test_edj_photo_is_the_largest_jpeg_in_the_file():
  small, large, mid = jpeg((64, 48), 0), jpeg((320, 200), 1), jpeg((160, 90), 2)
  data = archives.edj_photo(make_edj(small, large, mid))
  with Image.open(io.BytesIO(data)) as image:
    assert image.size == (320, 200)
    np.testing.assert_array_equal(
        np.asarray(image), np.asarray(Image.open(io.BytesIO(large))))
  with pytest.raises(ValueError, match="not an Eet file"):
    archives.edj_photo(large)
  with pytest.raises(ValueError, match="no JPEG"):
    archives.edj_photo(archives.EET_MAGIC + b"\xff\xd8\xff nothing")


def test_large_photographs_are_training_photographs_of_wallpapers():
  """--large adds photographs to train on, never to the held-out set, and
  none from a reserved package or named like a default one."""
  assert len(corpus.LARGE_PHOTOS) == 14
  assert not any(p.held_out for p in corpus.LARGE_PHOTOS)
  assert all(p.container == "edj" for p in corpus.LARGE_PHOTOS)
  assert not {p.package for p in corpus.LARGE_PHOTOS} & set(corpus.RESERVED)
  assert not ({p.name for p in corpus.LARGE_PHOTOS}
              & {p.name for p in corpus.PHOTOS})


COPYRIGHT = """Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/

Files: *
Copyright: 2005 M. B.
License: GPL-2+
"""


def _webp(size, seed):
  buffer = io.BytesIO()
  rng = np.random.default_rng(seed)
  Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), np.uint8)).save(
      buffer, format="WEBP")
  return buffer.getvalue()


def test_build_from_bundles_and_puzzles(tmp_path):
  debs = tmp_path / "debs"
  os.makedirs(debs)
  rcc = make_rcc({"g/src/activities/zoo/resource/README": README.encode(),
                  "g/src/activities/zoo/resource/cheetah.webp":
                      _webp((400, 300), 0),
                  "g/src/activities/zoo/resource/wonders/colosseum.webp":
                      _webp((300, 300), 1)},
                 compress={"g/src/activities/zoo/resource/README"})
  make_deb(debs / "game-data_3.1-2_all.deb", "game-data", {
      "usr/share/game/rcc/zoo.rcc": rcc,
      "usr/share/doc/game-data/copyright": COPYRIGHT.encode()})
  sheet = np.zeros((256, 256, 3), np.uint8)
  sheet[:150, :200] = 200  # the photograph; the rest of the sheet is black
  buffer = io.BytesIO()
  Image.fromarray(sheet).save(buffer, format="JPEG")
  make_deb(debs / "puzzle-data_1_all.deb", "puzzle-data", {
      "usr/share/puzzles/bike.pzl": make_pzl(buffer.getvalue(),
                                             (0, 0, 200, 150)),
      "usr/share/doc/puzzle-data/copyright": COPYRIGHT.encode()})
  make_deb(debs / "wall-data_1_all.deb", "wall-data", {
      "usr/share/walls/trees.edj": make_edj(jpeg((96, 64), 4),
                                            jpeg((300, 260), 5)),
      "usr/share/doc/wall-data/copyright": COPYRIGHT.encode()})
  member = "g/src/activities/zoo/resource/"
  photos = [
      corpus.Photo("game-data", "usr/share/game/rcc/zoo.rcc",
                   member=member + "cheetah.webp", content="animal"),
      corpus.Photo("game-data", "usr/share/game/rcc/zoo.rcc",
                   member=member + "wonders/colosseum.webp", held_out=True),
      corpus.Photo("puzzle-data", "usr/share/puzzles/bike.pzl"),
      corpus.Photo("wall-data", "usr/share/walls/trees.edj")]
  out = tmp_path / "corpus"
  manifest = corpus.build(str(out), photos, debs=str(debs), max_short=256,
                          log=lambda *_: None)
  cheetah, colosseum, bike, trees = manifest["photos"]
  # The wallpaper's largest JPEG, scaled to a shorter side of 256.
  assert trees["size"] == [300, 260] and trees["licence"] == "GPL-2+"
  assert Image.open(out / "train" / "wall-data__trees.jpg").size == (295, 256)
  assert cheetah["name"] == "game-data__zoo__cheetah"
  assert (cheetah["licence"], cheetah["copyright"]) == ("CC-BY-SA-4.0",
                                                        "Charles J. Sharp")
  assert cheetah["origin"].endswith("Cheetah.jpg")
  assert cheetah["member"] == member + "cheetah.webp"
  assert cheetah["size"] == [400, 300] and cheetah["content"] == "animal"
  assert colosseum["licence"] == "public domain" and colosseum["split"] == "test"
  assert bike["licence"] == "GPL-2+" and bike["size"] == [200, 150]
  # The puzzle's photograph only, not the black rest of its sheet.
  written = np.asarray(Image.open(out / "train" / "puzzle-data__bike.jpg"))
  assert written.shape == (150, 200, 3) and written.min() > 150
  credits = (out / "CREDITS.md").read_text()
  assert "game-data__zoo__cheetah | Charles J. Sharp | CC-BY-SA-4.0" in credits
  assert "colosseum" not in credits and "bike" not in credits
  assert json.loads((out / "manifest.json").read_text()) == manifest


def test_build_refuses_a_photograph_named_twice(tmp_path):
  photo = corpus.Photo("scikit-image", "data/coffee.png", module="skimage")
  with pytest.raises(ValueError, match="named twice"):
    corpus.build(str(tmp_path), [photo, photo])


def test_rcc_files_refuses_a_truncated_bundle():
  data = make_rcc({"a/b.webp": b"x" * 100}, compress={"a/b.webp"})
  with pytest.raises(ValueError, match="damaged"):
    archives.rcc_files(data[:60])
