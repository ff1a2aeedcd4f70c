"""A corpus of freely licensed photographs from the package registries.

    python -m pconvgan.corpus --out ~/data/photos

assembles the photographs that ``configs/photos.py`` trains on: real
photographs (no drawings, renders or abstract art) from Debian packages
(downloaded with ``apt-get download``, or taken from ``--debs DIR``) and from
Python packages installed here (scikit-image, scikit-learn, matplotlib); the
list is ``pconvgan.corpus_photos.PHOTOS``. ``--large`` adds
``LARGE_PHOTOS`` (enlightenment-data's wallpapers, a 400 MB download), as
training photographs only. It writes

- ``train/``: the training photographs, pre-scaled so that the shorter side is
  at most ``--max-short`` pixels (JPEG, quality 95): cheap to decode;
- ``test/``: 128x128 PNG crops of the held-out photographs on a grid, at two
  scales (shorter side 256 and 512; a scale that would enlarge a small
  photograph is left out), the evaluation set of ``eval.py --data``;
- ``test_photos/``: the held-out photographs, pre-scaled like ``train/``;
- ``manifest.json``: for every photograph its source package and version,
  file, licence, author and source (from the package's copyright file or the
  resource bundle's credits), the SHA-256 of the original and of each file
  written, what it shows, and its split;
- ``CREDITS.md``: the attribution of every CC-BY and CC-BY-SA photograph.

Held-out photographs are whole photographs: no crop of a training photograph
is ever in ``test/``. Debian packages reserved for independent evaluation of
this project are refused here: ``RESERVED``.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys
from typing import Iterable, Sequence

from PIL import Image

from pconvgan import archives
from pconvgan.archives import (copyright_stanzas, deb_files, deb_members,  # noqa: F401
                               deb_version, licence_of)
from pconvgan.corpus_photos import LARGE_PHOTOS, PHOTOS, RESERVED, Photo  # noqa: F401

# Crops of the held-out photographs: (shorter side, rows, columns) of a grid.
TEST_SCALES = ((256, 2, 4), (512, 2, 4))
TEST_CROP = 128
# A test scale is used only if it enlarges the photograph at most this much.
TEST_MAX_UPSCALE = 1.15


def _refuse_reserved(packages: Iterable[str]) -> None:
  bad = sorted(set(packages) & set(RESERVED))
  if bad:
    raise ValueError(f"packages {bad} are reserved for independent evaluation "
                     "of pconvgan and are never used for training")


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


def test_crops(image: Image.Image, scales=TEST_SCALES, crop: int = TEST_CROP,
               max_upscale: float = TEST_MAX_UPSCALE
               ) -> list[tuple[str, Image.Image]]:
  """(suffix, crop) pairs: at each (shorter side, rows, columns) of
  ``scales``, crops on an evenly spaced grid spanning the resized photo.
  Scales that would enlarge the photograph more than ``max_upscale`` times
  are left out (all but the smallest, if every one would)."""
  out = []
  image = image.convert("RGB")
  usable = [s for s in scales if s[0] <= max_upscale * min(image.size)]
  for short, rows, cols in usable or [min(scales)]:
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


def _photo_image(photo: Photo, data: bytes, rcc: dict | None) -> Image.Image:
  """The photograph of ``photo`` from its file's bytes (``rcc``: the files
  of the Qt resource bundle at ``photo.path``, if it is one), loaded."""
  if photo.container == "rcc":
    if photo.member not in rcc:
      raise ValueError(f"{photo.package}: {photo.path} has no {photo.member}")
    data = rcc[photo.member]
  crop = None
  if photo.container == "pzl":
    data, (left, top, width, height) = archives.pzl_photo(data)
    crop = (left, top, left + width, top + height)
  if photo.container == "edj":
    data = archives.edj_photo(data)
  image = Image.open(io.BytesIO(data))
  image.load()
  return image.crop(crop) if crop else image


def _debian_meta(photos: Sequence[Photo], deb: str) -> tuple[dict, dict, dict]:
  """(name -> bytes of the file at photo.path, name -> manifest fields,
  path -> files of each Qt resource bundle) for
  the photographs of one Debian package; licences from its copyright file,
  or, for Qt resource bundles, from the bundle's credits."""
  package = photos[0].package
  copyright_path = f"usr/share/doc/{package}/copyright"
  members = deb_members(deb)
  files = deb_files(deb, {p.path for p in photos} | {copyright_path}, members)
  text = files[copyright_path].decode("utf-8", "replace")
  version = deb_version(deb, members)
  bundles = {p.path: archives.rcc_files(files[p.path])
             for p in photos if p.container == "rcc"}
  data, meta = {}, {}
  for p in photos:
    data[p.name] = files[p.path]
    fields = dict(source=f"debian:{package}", version=version)
    if p.container == "rcc":
      credit = archives.rcc_credit(bundles[p.path], p.member)
      fields.update(
          licence=archives.normalise_licence(credit["License"]),
          copyright=" ".join(credit["Copyright"].split()),
          origin=credit.get("Source", ""), note=credit.get("Comment", ""))
    else:
      fields["licence"], fields["copyright"] = licence_of(text, p.path)
    meta[p.name] = fields
  return data, meta, bundles


def build(out: str, photos: Sequence[Photo] = PHOTOS, *, debs: str = "",
          max_short: int = 768, log=print) -> dict:
  """Writes the corpus to ``out`` (see the module docstring); returns the
  manifest. ``debs``: a folder of .deb files (default: download into
  ``out/.debs`` with apt-get)."""
  _refuse_reserved(p.package for p in photos)
  names = [p.name for p in photos]
  if len(set(names)) != len(names):
    raise ValueError(f"photographs named twice: "
                     f"{sorted({n for n in names if names.count(n) > 1})}")
  deb_photos = [p for p in photos if not p.module]
  deb_paths = {}
  if deb_photos:
    packages = {p.package for p in deb_photos}
    deb_paths = download_debs(packages, debs or os.path.join(out, ".debs"))
  for split in ("train", "test", "test_photos"):
    os.makedirs(os.path.join(out, split), exist_ok=True)

  originals, meta, bundles = {}, {}, {}
  for package, deb in deb_paths.items():
    data, fields, rccs = _debian_meta(
        [p for p in deb_photos if p.package == package], deb)
    originals.update(data)
    meta.update(fields)
    bundles.update(rccs)
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
    image = _photo_image(p, data, bundles.get(p.path))
    entry = dict(name=p.name, **meta[p.name], file=p.path)
    if p.member:
      entry["member"] = p.member
    entry.update(sha256=_sha256(data), size=list(image.size),
                 content=p.content, split="test" if p.held_out else "train",
                 written={})
    folder = "test_photos" if p.held_out else "train"
    rel = f"{folder}/{p.name}.jpg"
    entry["written"][rel] = _save(prescale(image, max_short),
                                  os.path.join(out, rel),
                                  format="JPEG", quality=95)
    if p.held_out:
      for suffix, crop in test_crops(image):
        rel = f"test/{p.name}__{suffix}.png"
        entry["written"][rel] = _save(crop, os.path.join(out, rel),
                                      format="PNG")
    entries.append(entry)
    log(f"{entry['split']:5s} {p.name} ({entry['licence']})")
  manifest = {
      "description": "pconvgan photo corpus: python -m pconvgan.corpus",
      "max_short": max_short, "test_scales": [list(s) for s in TEST_SCALES],
      "test_crop": TEST_CROP, "test_max_upscale": TEST_MAX_UPSCALE,
      "reserved_never_used": list(RESERVED), "photos": entries}
  with open(os.path.join(out, "manifest.json"), "w") as f:
    json.dump(manifest, f, indent=1, ensure_ascii=False)
  with open(os.path.join(out, "CREDITS.md"), "w") as f:
    f.write(credits_markdown(manifest))
  n_test = sum(e["split"] == "test" for e in entries)
  log(f"wrote {len(entries) - n_test} training photographs, {n_test} held out "
      f"({sum(len(e['written']) - 1 for e in entries if e['split'] == 'test')} "
      f"test crops), manifest.json and CREDITS.md to {out}")
  return manifest


def _attributed(licence: str) -> bool:
  return licence.upper().startswith("CC-BY")


def credits_markdown(manifest: dict) -> str:
  """The attributions the licences of the corpus ask for: every CC-BY and
  CC-BY-SA photograph by author, source, licence and the changes made
  (training photographs first: the ones the shipped weights learnt from)."""
  lines = [
      "# Photograph credits",
      "",
      "The photo corpus (`python -m pconvgan.corpus`) and the weights trained "
      "on it use the photographs below under their licences. Each was "
      "rescaled, and cropped into 128 px training crops (held-out ones into "
      "test crops); the authors do not endorse this project. Public-domain, "
      "CC0 and other photographs that need no attribution are listed with "
      "their licences in the manifest.",
      ""]
  for split, title in (("train", "Training photographs"),
                       ("test", "Held-out photographs (evaluation only)")):
    rows = [e for e in manifest["photos"]
            if e["split"] == split and _attributed(e["licence"])]
    lines += [f"## {title}", "",
              "| photograph | author | licence | source | notes |",
              "|---|---|---|---|---|"]
    for e in rows:
      where = e.get("origin") or f"{e['source']} {e['version']}: {e['file']}"
      note = " ".join(e.get("note", "").split())
      lines.append(f"| {e['name']} | {e['copyright']} | {e['licence']} | "
                   f"{where} | {note} |".replace("\n", " "))
    lines.append("")
  return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
  parser = argparse.ArgumentParser(
      description="Assemble the photo corpus of configs/photos.py.")
  parser.add_argument("--out", required=True, help="output folder")
  parser.add_argument("--debs", default="",
                      help="folder of the Debian packages' .deb files "
                      "(default: download them into OUT/.debs with apt-get)")
  parser.add_argument("--max-short", type=int, default=768,
                      help="largest shorter side of the written photographs")
  parser.add_argument("--large", action="store_true",
                      help=f"also the {len(LARGE_PHOTOS)} photographs of "
                      "enlightenment-data (a 400 MB download; training "
                      "photographs only: the held-out set stays the same)")
  args = parser.parse_args(argv)
  if args.max_short < 256:
    parser.error(f"--max-short must be >= 256, got {args.max_short}")
  try:
    build(os.path.expanduser(args.out),
          PHOTOS + LARGE_PHOTOS if args.large else PHOTOS,
          debs=os.path.expanduser(args.debs), max_short=args.max_short)
  except (ValueError, FileNotFoundError, subprocess.CalledProcessError) as e:
    print(f"pconvgan.corpus: error: {e}", file=sys.stderr)
    sys.exit(1)


if __name__ == "__main__":
  main()
