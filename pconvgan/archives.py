"""Readers for the containers the corpus' photographs ship in.

Debian packages (``ar`` archives of tar files) and their machine-readable
copyright files, Qt resource bundles (``.rcc``, gcompris-qt-data) with the
credit files beside their images, jigzo's puzzle sheets (``.pzl``) and
Enlightenment's Eet wallpapers (``.edj``).
Each reader takes bytes and returns bytes or text; none touches the network.
"""

from __future__ import annotations

import fnmatch
import io
import os
import posixpath
import re
import struct
import tarfile
import zlib
from typing import Iterable

from PIL import Image


# ---------------------------------------------------------------- Debian


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


def _pattern_matches(pattern: str, path: str) -> bool:
  """Whether a DEP-5 ``Files`` pattern (a path of the source tree) names the
  installed file ``path``: the pattern matches the end of the installed path,
  or, for a pattern that names a file (not only ``*``), its basename."""
  if fnmatch.fnmatch("/" + path, "*/" + pattern.lstrip("/")):
    return True
  base = posixpath.basename(pattern)
  return base.strip("*?") != "" and fnmatch.fnmatch(posixpath.basename(path),
                                                    base)


def licence_of(text: str, path: str) -> tuple[str, str]:
  """(licence, copyright) of the installed file ``path`` in a DEP-5
  copyright file. Patterns name files of the source tree, not where they are
  installed, so a pattern matches the end of the installed path or the
  basename; ``debian/`` patterns (the packaging) are skipped. As in DEP-5,
  the last matching stanza wins."""
  result = None
  for stanza in copyright_stanzas(text):
    for pattern in stanza.get("Files", "").split():
      if pattern.startswith("debian/"):
        continue
      if _pattern_matches(pattern, path):
        result = (stanza.get("License", "").split("\n")[0],
                  " ".join(stanza.get("Copyright", "").split()))
  if result is None:
    raise ValueError(f"the copyright file names no licence for {path}")
  return result


# ---------------------------------------------------------------- Qt .rcc

_RCC_DIRECTORY, _RCC_ZLIB, _RCC_ZSTD = 0x02, 0x01, 0x04


def rcc_files(data: bytes) -> dict[str, bytes]:
  """The files of a Qt binary resource bundle (see ``_rcc_files``); a
  damaged bundle raises ValueError."""
  try:
    return _rcc_files(data)
  except (struct.error, zlib.error, UnicodeDecodeError, IndexError) as e:
    raise ValueError(f"damaged Qt resource bundle: {e}") from e


def _rcc_files(data: bytes) -> dict[str, bytes]:
  """The files of a Qt binary resource bundle (``rcc --binary``): resource
  path (no leading '/') -> uncompressed bytes.

  The format: "qres", a big-endian header (version, then the offsets of the
  tree, the data and the names), tree nodes of 14 bytes (version 1) or 22
  (with a modification time), names as UTF-16BE with a length and a hash,
  data entries with a 4-byte length, zlib entries with a 4-byte size before
  the stream.
  """
  if data[:4] != b"qres":
    raise ValueError("not a Qt resource bundle (no 'qres' magic)")
  version, tree, payload, names = struct.unpack(">IIII", data[4:20])
  if version not in (1, 2, 3):
    raise ValueError(f"Qt resource bundle version {version} is not supported")
  node_size = 14 if version == 1 else 22

  def name_at(offset: int) -> str:
    (length,) = struct.unpack(">H", data[names + offset:names + offset + 2])
    start = names + offset + 6
    return data[start:start + 2 * length].decode("utf-16-be")

  files: dict[str, bytes] = {}
  stack = [(0, "")]
  while stack:
    index, prefix = stack.pop()
    node = tree + index * node_size
    name_offset, flags = struct.unpack(">IH", data[node:node + 6])
    name = name_at(name_offset) if index else ""
    path = posixpath.join(prefix, name) if prefix else name
    if flags & _RCC_DIRECTORY:
      count, first = struct.unpack(">II", data[node + 6:node + 14])
      stack.extend((child, path) for child in range(first, first + count))
      continue
    (offset,) = struct.unpack(">I", data[node + 10:node + 14])
    (length,) = struct.unpack(">I", data[payload + offset:payload + offset + 4])
    blob = data[payload + offset + 4:payload + offset + 4 + length]
    if flags & _RCC_ZLIB:
      blob = zlib.decompress(blob[4:])
    elif flags & _RCC_ZSTD:
      raise ValueError(f"{path}: zstd-compressed resources are not supported")
    files[path] = blob
  return files


_CREDIT_KEY = re.compile(r"^(Copyright|License|Source|Comments?|Files|Author)"
                         r":\s*(.*)$")
_FILE_NAME = re.compile(r"\.(webp|svg|png|jpe?g|ogg|wav)$", re.IGNORECASE)


def credit_stanzas(text: str) -> list[dict[str, str]]:
  """The paragraphs of a gcompris credits README: Copyright, License,
  Source, Comment(s) and Files (file names on the ``Files:`` line, on the
  lines after it, or on lines of their own)."""
  stanzas, current, key = [], {}, None
  for line in text.splitlines() + [""]:
    line = line.strip()
    if not line:
      if current:
        stanzas.append(current)
      current, key = {}, None
      continue
    match = _CREDIT_KEY.match(line)
    if match:
      key = "Comment" if match[1] == "Comments" else match[1]
      current[key] = (current.get(key, "") + "\n" + match[2]).strip()
    elif _FILE_NAME.search(line):
      current["Files"] = (current.get("Files", "") + "\n" + line).strip()
    elif key:
      current[key] = (current[key] + "\n" + line).strip()
  return stanzas


def rcc_credit(files: dict[str, bytes], member: str) -> dict[str, str]:
  """The credits of the resource ``member`` from the README files of its
  folder and the folders above it (file names relative to the README's
  folder): a dict with Copyright, License and, where given, Source and
  Comment. Raises ValueError if no README names the file."""
  folder = posixpath.dirname(member)
  while True:
    readme = files.get(posixpath.join(folder, "README"))
    if readme is not None:
      rel = posixpath.relpath(member, folder)
      for stanza in credit_stanzas(readme.decode("utf-8", "replace")):
        if rel in stanza.get("Files", "").split():
          if not stanza.get("License") or not stanza.get("Copyright"):
            raise ValueError(f"the credits of {member} give no licence or "
                             "no author")
          return stanza
    if not folder:
      break
    folder = posixpath.dirname(folder)
  raise ValueError(f"no README of the bundle credits {member}")


def normalise_licence(name: str) -> str:
  """SPDX-like spelling of a licence as the credit files write it:
  'CC-BY-SA 4.0' -> 'CC-BY-SA-4.0', 'Public Domain' -> 'public domain'."""
  name = " ".join(name.split())
  if name.lower() == "public domain":
    return "public domain"
  if name.upper().startswith("CC"):
    return name.replace(" ", "-")
  return name


# ---------------------------------------------------------------- jigzo .pzl


def pzl_entries(data: bytes) -> dict[str, bytes]:
  """The files of a jigzo puzzle sheet: four header lines ('PzlF', version,
  name, address), then entries of a name line, a length line and the bytes."""
  lines = data.split(b"\n", 4)
  if len(lines) < 5 or lines[0] != b"PzlF":
    raise ValueError("not a jigzo puzzle (no 'PzlF' header)")
  rest, entries = lines[4], {}
  while rest:
    name, length, rest = rest.split(b"\n", 2)
    size = int(length)
    entries[name.decode("latin-1")] = rest[:size]
    rest = rest[size:]
  return entries


def pzl_photo(data: bytes) -> tuple[bytes, tuple[int, int, int, int]]:
  """(the puzzle's full-size JPEG, (left, top, width, height) of the
  photograph in it, from the map's ``image`` line)."""
  entries = pzl_entries(data)
  maps = [v for k, v in entries.items() if k.endswith(".map")]
  jpegs = [v for k, v in entries.items()
           if k.endswith(".jpg") and not k.endswith("-t.jpg")]
  if len(maps) != 1 or len(jpegs) != 1:
    raise ValueError("a jigzo puzzle with one map and one image was expected")
  match = re.search(rb"^image (\d+) (\d+) (\d+) (\d+)", maps[0], re.MULTILINE)
  if match is None:
    raise ValueError("the jigzo puzzle's map has no 'image' line")
  return jpegs[0], tuple(int(v) for v in match.groups())


# ---------------------------------------------------------------- Eet .edj

EET_MAGIC = b"\x1e\xe7\x0f\x42"  # Enlightenment's Eet file format
HEADER_BYTES = 1 << 20  # enough for a JPEG's markers before its frame header


def edj_photo(data: bytes) -> bytes:
  """The largest JPEG stored in an Eet file (an Enlightenment ``.edj``
  wallpaper keeps its photograph as plain JPEG entries at several sizes),
  from its start of image on: decoders stop at its end."""
  if not data.startswith(EET_MAGIC):
    raise ValueError("not an Eet file (no 1ee70f42 header)")
  best, best_area = None, 0
  for match in re.finditer(b"\xff\xd8\xff", data):
    try:  # the header is enough to tell the size: no copy of the rest
      head = data[match.start():match.start() + HEADER_BYTES]
      with Image.open(io.BytesIO(head)) as image:
        if image.format != "JPEG":
          continue
        area = image.size[0] * image.size[1]
    except (OSError, ValueError, SyntaxError):
      continue  # the bytes of a compressed entry, not a JPEG
    if area > best_area:
      best, best_area = match.start(), area
  if best is None:
    raise ValueError("the Eet file holds no JPEG image")
  return data[best:]


def stem(path: str) -> str:
  """File name without folder and extension."""
  return os.path.splitext(posixpath.basename(path))[0]
