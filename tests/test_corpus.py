"""The photo corpus: Debian package reading, licences, held-out split."""

import hashlib
import io
import json
import os
import tarfile

import numpy as np
import pytest
from PIL import Image

from pconvgan import corpus

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

COPYRIGHT = """Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: test-wallpapers

Files: *
Copyright: 2020, Someone
License: GPL-2+

Files: 16.04/lake_by_A.jpg
Copyright: A. Person, 2018
License: CC-BY-4.0

Files: hills_*.png
Copyright: 2019 B. Person
           2020 C. Person
License: CC0-1.0
 To the extent possible under law ...

Files: debian/*
Copyright: 2022, A Packager
License: Expat
"""


def _tar(files: dict, compression: str) -> bytes:
  buffer = io.BytesIO()
  with tarfile.open(fileobj=buffer, mode=f"w:{compression}") as tar:
    for name, data in files.items():
      info = tarfile.TarInfo("./" + name)
      info.size = len(data)
      tar.addfile(info, io.BytesIO(data))
  return buffer.getvalue()


def make_deb(path, package, files, version="1.2-3"):
  """A minimal .deb: an ar archive of debian-binary, control and data."""
  control = f"Package: {package}\nVersion: {version}\n".encode()
  members = [("debian-binary", b"2.0\n"),
             ("control.tar.gz", _tar({"control": control}, "gz")),
             ("data.tar.xz", _tar(files, "xz"))]
  out = b"!<arch>\n"
  for name, data in members:
    header = f"{name + '/':<16}{0:<12}{0:<6}{0:<6}{100644:<8}{len(data):<10}`\n"
    out += header.encode() + data + (b"\n" if len(data) % 2 else b"")
  with open(path, "wb") as f:
    f.write(out)


def jpeg(size, seed):
  rng = np.random.default_rng(seed)
  buffer = io.BytesIO()
  Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), np.uint8)).save(
      buffer, format="JPEG")
  return buffer.getvalue()


def test_licence_of_matches_folder_patterns_on_the_installed_path():
  text = ("Files: *\nCopyright: Authors\nLicense: BSD-3-clause\n\n"
          "Files: external/raw/*\nCopyright: none\nLicense: CC0\n\n"
          "Files: external/wide/*\nCopyright: P. R.\nLicense: Apache-2.0\n")
  root = "usr/share/testdata/"
  assert corpus.licence_of(text, root + "external/raw/500px/a.png")[0] == "CC0"
  assert corpus.licence_of(text, root + "external/wide/b.png")[0] == "Apache-2.0"
  assert corpus.licence_of(text, root + "jxl/flower.png")[0] == "BSD-3-clause"


def test_licence_of_reads_dep5_stanzas_by_basename():
  assert corpus.licence_of(COPYRIGHT, "usr/share/backgrounds/lake_by_A.jpg") == (
      "CC-BY-4.0", "A. Person, 2018")
  # The last matching stanza wins; continuation lines are joined; the
  # packaging's debian/* stanza is not taken for an installed file.
  assert corpus.licence_of(COPYRIGHT, "usr/share/x/hills_2.png") == (
      "CC0-1.0", "2019 B. Person 2020 C. Person")
  assert corpus.licence_of(COPYRIGHT, "usr/share/x/other.jpg")[0] == "GPL-2+"
  with pytest.raises(ValueError, match="names no licence"):
    corpus.licence_of("Files: a.png\nLicense: MIT\n", "b.png")


def test_build_from_a_local_deb(tmp_path):
  debs = tmp_path / "debs"
  os.makedirs(debs)
  lake, hills = jpeg((900, 600), 0), jpeg((300, 200), 1)
  make_deb(debs / "test-wallpapers_1.2-3_all.deb", "test-wallpapers", {
      "usr/share/backgrounds/lake_by_A.jpg": lake,
      "usr/share/backgrounds/hills_1.jpg": hills,
      "usr/share/doc/test-wallpapers/copyright": COPYRIGHT.encode()})
  photos = [corpus.Photo("test-wallpapers", "usr/share/backgrounds/lake_by_A.jpg"),
            corpus.Photo("test-wallpapers", "usr/share/backgrounds/hills_1.jpg",
                          held_out=True)]
  out = tmp_path / "corpus"
  manifest = corpus.build(str(out), photos, debs=str(debs), max_short=256,
                          log=lambda *_: None)
  assert json.loads((out / "manifest.json").read_text()) == manifest
  lake_entry, hills_entry = manifest["photos"]
  assert lake_entry["licence"] == "CC-BY-4.0" and lake_entry["version"] == "1.2-3"
  assert lake_entry["sha256"] == hashlib.sha256(lake).hexdigest()
  assert lake_entry["split"] == "train" and hills_entry["split"] == "test"
  # Training photographs are pre-scaled; held-out ones give only test crops.
  train = os.listdir(out / "train")
  assert train == ["test-wallpapers__lake_by_A.jpg"]
  assert min(Image.open(out / "train" / train[0]).size) == 256
  crops = sorted(os.listdir(out / "test"))
  # hills is 300x200: only the smallest scale (256) is used, enlarged 1.28x.
  _, rows, cols = min(corpus.TEST_SCALES)
  n_crops = rows * cols
  assert len(crops) == n_crops and all(c.startswith("test-wallpapers__hills_1")
                                       for c in crops)
  assert all(Image.open(out / "test" / c).size == (128, 128) for c in crops)
  for rel, digest in hills_entry["written"].items():
    assert hashlib.sha256((out / rel).read_bytes()).hexdigest() == digest


def test_reserved_packages_are_refused(tmp_path):
  for package in corpus.RESERVED:
    with pytest.raises(ValueError, match="reserved"):
      corpus.build(str(tmp_path), [corpus.Photo(package, "usr/x.jpg")])
    with pytest.raises(ValueError, match="reserved"):
      corpus.download_debs([package], str(tmp_path))


def test_test_crops_leave_out_scales_that_enlarge():
  scales = ((256, 1, 2), (512, 2, 2))
  big = Image.fromarray(np.zeros((600, 900, 3), np.uint8))
  assert len(corpus.test_crops(big, scales=scales)) == 6
  # 480 px: 512 enlarges 1.07x (kept); 400 px: 1.28x (left out).
  assert len(corpus.test_crops(big.resize((720, 480)), scales=scales)) == 6
  assert len(corpus.test_crops(big.resize((600, 400)), scales=scales)) == 2
  # Smaller than every scale: the smallest is used.
  tiny = corpus.test_crops(big.resize((180, 120)), scales=scales)
  assert [s for s, _ in tiny] == ["s256_r0c0", "s256_r0c1"]


def test_test_crops_cover_the_photo_on_a_grid():
  image = Image.fromarray(np.zeros((300, 450, 3), np.uint8))
  crops = corpus.test_crops(image, scales=((256, 2, 3),))
  assert [s for s, _ in crops] == [f"s256_r{r}c{c}" for r in range(2)
                                   for c in range(3)]
  assert all(c.size == (128, 128) for _, c in crops)


def test_committed_manifest_matches_the_photo_list():
  with open(os.path.join(ROOT, "docs", "photos_manifest.json")) as f:
    manifest = json.load(f)
  assert set(manifest["reserved_never_used"]) == set(corpus.RESERVED) == {
      "mate-backgrounds", "plasma-workspace-wallpapers", "tuxpaint-data",
      "lxqt-themes"}
  listed = {(p.name, "test" if p.held_out else "train") for p in corpus.PHOTOS}
  assert {(e["name"], e["split"]) for e in manifest["photos"]} == listed
  assert not set(corpus.RESERVED) & {p.package for p in corpus.PHOTOS}
  # Whole photographs are held out: no photograph is in both splits.
  names = [e["name"] for e in manifest["photos"]]
  assert len(names) == len(set(names))
  assert all(e["licence"] for e in manifest["photos"])


def test_committed_credits_attribute_every_cc_by_photograph():
  with open(os.path.join(ROOT, "docs", "photos_manifest.json")) as f:
    manifest = json.load(f)
  with open(os.path.join(ROOT, "CREDITS.md")) as f:
    credits = f.read()
  assert credits == corpus.credits_markdown(manifest)
  for e in manifest["photos"]:
    row = f"| {e['name']} | {e['copyright']} | {e['licence']} |"
    assert (row in credits) == e["licence"].upper().startswith("CC-BY"), row


def test_held_out_set_is_spread_over_sources_and_content():
  held = [p for p in corpus.PHOTOS if p.held_out]
  assert len(held) >= 30
  assert {p.content for p in held} >= {"animal", "building", "landscape",
                                       "object", "underwater"}
  assert len({p.package for p in held}) >= 5
