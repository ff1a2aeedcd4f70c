"""A corpus of freely licensed photographs from the package registries.

    python -m pconvgan.corpus --out ~/data/photos

assembles the photographs that ``configs/photos.py`` trains on: real
photographs (no drawings, renders or abstract art) from Debian packages
(downloaded with ``apt-get download``, or taken from ``--debs DIR``) and from
Python packages installed here (scikit-image, scikit-learn, matplotlib). It
writes

- ``train/``: the training photographs, pre-scaled so that the shorter side is
  at most ``--max-short`` pixels (JPEG, quality 95): cheap to decode;
- ``test/``: 128x128 PNG crops of the held-out photographs, at two scales
  (shorter side 256 and 512), the evaluation set of ``eval.py --data``;
- ``test_photos/``: the held-out photographs, pre-scaled like ``train/``;
- ``manifest.json``: for every photograph its source package and version,
  file, licence and copyright (from the package's copyright file), the
  SHA-256 of the original and of each file written, and its split.

Held-out photographs are whole photographs: no crop of a training photograph
is ever in ``test/``. Two Debian packages are reserved for independent
evaluation of this project and are refused here: ``RESERVED``.
"""

from __future__ import annotations

import argparse
import dataclasses
import fnmatch
import hashlib
import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from typing import Iterable, Sequence

from PIL import Image

# Never downloaded, trained on or looked at: kept for independent evaluation.
RESERVED = ("mate-backgrounds", "plasma-workspace-wallpapers")
# Crops of the held-out photographs: (shorter side, rows, columns) of a grid.
TEST_SCALES = ((256, 2, 4), (512, 2, 4))
TEST_CROP = 128


@dataclasses.dataclass(frozen=True)
class Photo:
  """One photograph in a package.

  package: Debian package or Python distribution that ships it.
  path: its path inside the package (Debian: from the root of the data
    archive, e.g. 'usr/share/backgrounds/x.jpg'; Python: relative to the
    module named by ``module``).
  held_out: True for the photographs kept for evaluation.
  module: for Python packages, the importable module the path is under.
  licence, copyright: for Python packages, as the package's documentation
    states them (Debian packages: read from their copyright file).
  """
  package: str
  path: str
  held_out: bool = False
  module: str = ""
  licence: str = ""
  copyright: str = ""

  @property
  def name(self) -> str:
    stem = os.path.splitext(os.path.basename(self.path))[0]
    return f"{self.package}__{stem}"


def _lomiri(release: str, names: Sequence[str], held: Sequence[str]) -> list[Photo]:
  return [Photo(f"lomiri-wallpapers-{release}", f"usr/share/backgrounds/{n}.jpg",
                held_out=n in held) for n in names]


def _skimage(name: str, licence: str, holder: str, held_out: bool = False
             ) -> Photo:
  """A photograph of scikit-image's data/ (licences: skimage.data docstrings)."""
  return Photo("scikit-image", f"data/{name}", module="skimage",
               licence=licence, copyright=holder, held_out=held_out)

# Kept: photographs. Dropped after looking at every image of these packages:
# lomiri's Infinite-Sea, Painting-Colors, Fossa and default backgrounds
# (digital art), every ukui-wallpapers and gnome-backgrounds 43 image
# (renders and abstract art), sway-backgrounds (logos); scikit-image's
# drawings, microscopy, medical and stereo images.
PHOTOS: tuple[Photo, ...] = tuple(
    _lomiri("16.04", (
        "Bridge_by_Sander_Klootwijk", "Dragonfly_by_Bolly",
        "Picture_0B_by_freespace", "Picture_1A_by_freespace",
        "Wine_by_Jakkub_Mede", "aitzgorri_by_Aitzol_Berasategi",
        "analogpattern_by_Peter_Nerlich", "free_by_Peter_Nerlich",
        "friends_by_Aitzol_Berasategi", "greentock_by_Peter_Nerlich",
        "life_by_Aitzol_Berasategi", "picosdeeuropa_by_Aitzol_Berasategi",
        "seeding_by_Clements_Engelhardt", "sunset_by_Aitzol_Berasategi",
        "umang_by_Abhishek_Mudgal"),
        held=("Dragonfly_by_Bolly", "Picture_0B_by_freespace",
              "friends_by_Aitzol_Berasategi",
              "picosdeeuropa_by_Aitzol_Berasategi"))
    + _lomiri("20.04", ("Kleiber_by_Lukas_Baubkus",), held=())
    + [
        _skimage("astronaut.png", "public domain", "NASA"),
        _skimage("chelsea.png", "CC0-1.0", "Stefan van der Walt"),
        _skimage("coffee.png", "CC0-1.0", "Rachel Michetti", held_out=True),
        _skimage("rocket.jpg", "public domain", "SpaceX"),
        _skimage("hubble_deep_field.jpg", "public domain", "NASA / HubbleSite"),
        _skimage("camera.png", "CC0-1.0", "Lav Varshney"),
        _skimage("brick.png", "CC0-1.0", "CC0Textures"),
        _skimage("grass.png", "CC0-1.0", "linolafett"),
        _skimage("gravel.png", "CC0-1.0", "CC0Textures"),
        Photo("scikit-learn", "datasets/images/china.jpg", module="sklearn",
              licence="CC-BY-2.0", copyright="danielbuechele (Flickr)",
              held_out=True),
        Photo("scikit-learn", "datasets/images/flower.jpg", module="sklearn",
              licence="CC-BY-2.0", copyright="vultilion (Flickr)"),
        Photo("matplotlib", "mpl-data/sample_data/grace_hopper.jpg",
              module="matplotlib", licence="public domain",
              copyright="U.S. Navy"),
    ])


def _refuse_reserved(packages: Iterable[str]) -> None:
  bad = sorted(set(packages) & set(RESERVED))
  if bad:
    raise ValueError(f"packages {bad} are reserved for independent evaluation "
                     "of pconvgan and are never used for training")


# ---------------------------------------------------------------- Debian files


def deb_members(deb_path: str) -> dict[str, bytes]:
  """The members of a .deb's ``ar`` archive: name -> bytes."""
  with open(deb_path, "rb") as f:
    data = f.read()
  if not data.startswith(b"!<arch>\n"):
    raise ValueError(f"{deb_path} is not a Debian package (no ar header)")
  members, pos = {}, 8
  while pos + 60 <= len(data):
    header = data[pos:pos + 60]
    name = header[:16].decode().strip().rstrip("/")
    size = int(header[48:58].decode().strip())
    members[name] = data[pos + 60:pos + 60 + size]
    pos += 60 + size + (size % 2)
  return members


def deb_files(deb_path: str, wanted: Iterable[str], members: dict | None = None
              ) -> dict[str, bytes]:
  """Files of a .deb's data archive (paths without the leading './');
  ``members``: its ``deb_members``, if already read."""
  wanted = set(wanted)
  members = members or deb_members(deb_path)
  data_name = next((n for n in members if n.startswith("data.tar")), None)
  if data_name is None:
    raise ValueError(f"{deb_path} has no data.tar member")
  found = {}
  with tarfile.open(fileobj=io.BytesIO(members[data_name])) as tar:
    for info in tar:
      path = info.name[2:] if info.name.startswith("./") else info.name
      if path in wanted and info.isfile():
        found[path] = tar.extractfile(info).read()
  missing = sorted(wanted - set(found))
  if missing:
    raise ValueError(f"{deb_path} lacks {missing}")
  return found


def deb_version(deb_path: str, members: dict | None = None) -> str:
  """The Version field of a .deb's control file."""
  members = members or deb_members(deb_path)
  control_name = next(n for n in members if n.startswith("control.tar"))
  with tarfile.open(fileobj=io.BytesIO(members[control_name])) as tar:
    for info in tar:
      if info.name.lstrip("./") == "control":
        for line in tar.extractfile(info).read().decode().splitlines():
          if line.startswith("Version:"):
            return line.split(":", 1)[1].strip()
  return ""


def copyright_stanzas(text: str) -> list[dict[str, str]]:
  """The paragraphs of a machine-readable (DEP-5) copyright file, as dicts
  (continuation lines joined with newlines)."""
  stanzas, current, key = [], {}, None
  for line in text.splitlines():
    if not line.strip():
      if current:
        stanzas.append(current)
      current, key = {}, None
    elif line[0] in " \t" and key:
      current[key] += "\n" + line.strip()
    elif ":" in line:
      key, value = line.split(":", 1)
      current[key] = value.strip()
  if current:
    stanzas.append(current)
  return stanzas


def licence_of(text: str, path: str) -> tuple[str, str]:
  """(licence, copyright) of the installed file ``path`` in a DEP-5
  copyright file. Patterns name files of the source tree, not where they are
  installed, so they are matched on the basename; ``debian/`` patterns (the
  packaging) are skipped. As in DEP-5, the last matching stanza wins."""
  result = None
  base = os.path.basename(path)
  for stanza in copyright_stanzas(text):
    for pattern in stanza.get("Files", "").split():
      if pattern.startswith("debian/"):
        continue
      if fnmatch.fnmatch(base, os.path.basename(pattern)):
        result = (stanza.get("License", "").split("\n")[0],
                  " ".join(stanza.get("Copyright", "").split()))
  if result is None:
    raise ValueError(f"the copyright file names no licence for {path}")
  return result


def download_debs(packages: Iterable[str], cache: str) -> dict[str, str]:
  """package -> path of its .deb in ``cache``, downloading the missing ones
  with ``apt-get download``."""
  packages = sorted(set(packages))
  _refuse_reserved(packages)
  os.makedirs(cache, exist_ok=True)

  def find(package):
    hits = [n for n in os.listdir(cache)
            if n.startswith(package + "_") and n.endswith(".deb")]
    return os.path.join(cache, sorted(hits)[-1]) if hits else None

  missing = [p for p in packages if not find(p)]
  if missing:
    if not shutil.which("apt-get"):
      raise FileNotFoundError(
          f"apt-get not found: download the Debian packages {missing} by hand "
          f"and pass their folder as --debs")
    print(f"downloading {' '.join(missing)}", file=sys.stderr)
    subprocess.run(["apt-get", "download", *missing], cwd=cache, check=True)
  return {p: find(p) for p in packages}


# ---------------------------------------------------------------- the corpus


def python_file(photo: Photo) -> bytes:
  spec = importlib.util.find_spec(photo.module)
  if spec is None or not spec.submodule_search_locations:
    raise FileNotFoundError(
        f"Python package {photo.package} (module {photo.module}) is not "
        f"installed: pip install {photo.package}")
  path = os.path.join(list(spec.submodule_search_locations)[0], photo.path)
  with open(path, "rb") as f:
    return f.read()


def prescale(image: Image.Image, max_short: int) -> Image.Image:
  """RGB, with the shorter side at most ``max_short`` (Lanczos)."""
  image = image.convert("RGB")
  w, h = image.size
  if min(w, h) > max_short:
    s = max_short / min(w, h)
    image = image.resize((round(w * s), round(h * s)), Image.LANCZOS)
  return image


def test_crops(image: Image.Image, scales=TEST_SCALES, crop: int = TEST_CROP
               ) -> list[tuple[str, Image.Image]]:
  """(suffix, crop) pairs: at each (shorter side, rows, columns) of
  ``scales``, crops on an evenly spaced grid spanning the resized photo."""
  out = []
  image = image.convert("RGB")
  for short, rows, cols in scales:
    w, h = image.size
    s = short / min(w, h)
    scaled = image.resize((max(crop, round(w * s)), max(crop, round(h * s))),
                          Image.LANCZOS)
    sw, sh = scaled.size
    for r in range(rows):
      for c in range(cols):
        top = round(r * (sh - crop) / max(1, rows - 1))
        left = round(c * (sw - crop) / max(1, cols - 1))
        out.append((f"s{short}_r{r}c{c}",
                    scaled.crop((left, top, left + crop, top + crop))))
  return out


def _sha256(data: bytes) -> str:
  return hashlib.sha256(data).hexdigest()


def _save(image: Image.Image, path: str, **options) -> str:
  buffer = io.BytesIO()
  image.save(buffer, **options)
  data = buffer.getvalue()
  with open(path + ".tmp", "wb") as f:
    f.write(data)
  os.replace(path + ".tmp", path)
  return _sha256(data)


def build(out: str, photos: Sequence[Photo] = PHOTOS, *, debs: str = "",
          max_short: int = 768, log=print) -> dict:
  """Writes the corpus to ``out`` (see the module docstring); returns the
  manifest. ``debs``: a folder of .deb files (default: download into
  ``out/.debs`` with apt-get)."""
  _refuse_reserved(p.package for p in photos)
  deb_photos = [p for p in photos if not p.module]
  deb_paths = {}
  if deb_photos:
    packages = {p.package for p in deb_photos}
    deb_paths = download_debs(packages, debs or os.path.join(out, ".debs"))
  for split in ("train", "test", "test_photos"):
    os.makedirs(os.path.join(out, split), exist_ok=True)

  originals, meta = {}, {}
  for package, deb in deb_paths.items():
    mine = [p for p in deb_photos if p.package == package]
    copyright_path = f"usr/share/doc/{package}/copyright"
    members = deb_members(deb)
    files = deb_files(deb, [p.path for p in mine] + [copyright_path], members)
    text = files[copyright_path].decode("utf-8", "replace")
    version = deb_version(deb, members)
    for p in mine:
      originals[p.name] = files[p.path]
      lic, holder = licence_of(text, p.path)
      meta[p.name] = dict(source=f"debian:{package}", version=version,
                          licence=lic, copyright=holder)
  for p in photos:
    if p.module:
      originals[p.name] = python_file(p)
      from importlib import metadata  # pylint: disable=import-outside-toplevel
      meta[p.name] = dict(source=f"pypi:{p.package}",
                          version=metadata.version(p.package),
                          licence=p.licence, copyright=p.copyright)

  entries = []
  for p in photos:
    data = originals[p.name]
    with Image.open(io.BytesIO(data)) as image:
      image.load()
      size = image.size
      scaled = prescale(image, max_short)
    entry = dict(name=p.name, **meta[p.name], file=p.path,
                 sha256=_sha256(data), size=list(size),
                 split="test" if p.held_out else "train", written={})
    folder = "test_photos" if p.held_out else "train"
    rel = f"{folder}/{p.name}.jpg"
    entry["written"][rel] = _save(scaled, os.path.join(out, rel),
                                  format="JPEG", quality=95)
    if p.held_out:
      with Image.open(io.BytesIO(data)) as image:
        for suffix, crop in test_crops(image):
          rel = f"test/{p.name}__{suffix}.png"
          entry["written"][rel] = _save(crop, os.path.join(out, rel),
                                        format="PNG")
    entries.append(entry)
    log(f"{entry['split']:5s} {p.name} ({entry['licence']})")
  manifest = {
      "description": "pconvgan photo corpus: python -m pconvgan.corpus",
      "max_short": max_short, "test_scales": [list(s) for s in TEST_SCALES],
      "test_crop": TEST_CROP, "reserved_never_used": list(RESERVED),
      "photos": entries}
  with open(os.path.join(out, "manifest.json"), "w") as f:
    json.dump(manifest, f, indent=1)
  n_test = sum(e["split"] == "test" for e in entries)
  log(f"wrote {len(entries) - n_test} training photographs, {n_test} held out "
      f"({sum(len(e['written']) - 1 for e in entries if e['split'] == 'test')} "
      f"test crops) and manifest.json to {out}")
  return manifest


def main(argv: Sequence[str] | None = None) -> None:
  parser = argparse.ArgumentParser(
      description="Assemble the photo corpus of configs/photos.py.")
  parser.add_argument("--out", required=True, help="output folder")
  parser.add_argument("--debs", default="",
                      help="folder of the Debian packages' .deb files "
                      "(default: download them into OUT/.debs with apt-get)")
  parser.add_argument("--max-short", type=int, default=768,
                      help="largest shorter side of the written photographs")
  args = parser.parse_args(argv)
  if args.max_short < 256:
    parser.error(f"--max-short must be >= 256, got {args.max_short}")
  try:
    build(os.path.expanduser(args.out), debs=os.path.expanduser(args.debs),
          max_short=args.max_short)
  except (ValueError, FileNotFoundError, subprocess.CalledProcessError) as e:
    print(f"pconvgan.corpus: error: {e}", file=sys.stderr)
    sys.exit(1)


if __name__ == "__main__":
  main()
