"""A local page for inpainting your own photographs in the browser.

    python -m pconvgan.app [--ckpt RUN] [--port 7860] [--host 127.0.0.1]

Open the address it prints, upload a photograph, brush over what to remove
(or upload a mask: white / non-zero = hole), press Inpaint, compare before
and after, and download the result at full resolution, in the photograph's
own format (a JPEG at its own quality, alpha, colour profile and EXIF kept:
pconvgan.photo). Strokes can be undone and erased, the photograph zoomed, a
result taken as the photograph for another pass, and the command line's
--ensemble, --max-side and --dilate chosen. Without --ckpt the model that
ships with pconvgan is used.

The page is served by Python's standard library and is self-contained: no
font, script or style sheet is fetched from anywhere and nothing is sent
anywhere but to this server, so it works with the network off. One photograph
is inpainted at a time; the page shows its progress (one step per region and
scale, pconvgan.regions).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import dataclasses
import http.server
import importlib.resources
import io
import itertools
import json
import os
import queue
import re
import sys
import tempfile
import threading
import urllib.parse
from typing import Any, Sequence

import numpy as np
from PIL import Image
from PIL import ImageOps

from pconvgan import checks
from pconvgan import dihedral
from pconvgan import inpaint_photos
from pconvgan import masks
from pconvgan import photo
from pconvgan import weights

# Largest request accepted (a base64 photograph, mask and brush strokes).
MAX_REQUEST_BYTES = 512 * 2**20
# Finished jobs whose results are kept for download.
KEEP_JOBS = 8
# Output format and extension for each input format; others are written PNG.
OUTPUT_FORMATS = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp"}
PAGE_FILES = {"/": ("index.html", "text/html; charset=utf-8"),
              "/page.js": ("page.js", "text/javascript; charset=utf-8"),
              "/page.css": ("page.css", "text/css; charset=utf-8")}


class RequestError(ValueError):
  """A request that cannot be served; its text is shown on the page."""


@dataclasses.dataclass
class Job:
  """One photograph to inpaint and, once done, its result."""
  id: str
  request: dict
  state: str = "queued"  # queued, running, done, failed
  stage: str = "waiting for the model"
  done: int = 0
  total: int = 0
  error: str | None = None
  result: bytes | None = None
  filename: str | None = None
  content_type: str | None = None
  summary: str | None = None

  def status(self) -> dict:
    return {"id": self.id, "state": self.state, "stage": self.stage,
            "done": self.done, "total": self.total, "error": self.error,
            "filename": self.filename, "summary": self.summary}


def _decode(request: dict, field: str) -> bytes | None:
  text = request.get(field)
  if text in (None, ""):
    return None
  if not isinstance(text, str):
    raise RequestError(f"{field} must be a base64 string")
  try:
    return base64.b64decode(text.split(",", 1)[-1], validate=True)
  except (binascii.Error, ValueError):
    raise RequestError(f"{field} is not valid base64") from None


def _whole(value) -> bool:
  return isinstance(value, int) and not isinstance(value, bool)


MIN_MAX_SIDE = inpaint_photos.MIN_MAX_SIDE
# Largest dilate accepted (a hole grown further covers any photograph).
MAX_DILATE = 10000
# The fill settings a request may carry, as inpaint_photos' --ensemble,
# --max-side and --dilate: field, default (also for null), test, rule.
FILL_FIELDS = (
    ("ensemble", 1, lambda v: _whole(v) and v in dihedral.COUNTS,
     "one of " + ", ".join(map(str, dihedral.COUNTS))
     + " (model passes averaged over flips)"),
    ("max_side", 0, lambda v: _whole(v) and (v == 0 or v >= MIN_MAX_SIDE),
     f"0 (full size) or a whole number of pixels >= {MIN_MAX_SIDE}"),
    ("dilate", 0, lambda v: _whole(v) and 0 <= v <= MAX_DILATE,
     f"a whole number of pixels in 0..{MAX_DILATE} (how far each hole is "
     "grown)"),
)


def fill_options(request: dict) -> dict:
  """The request's fill settings ({field: value} of FILL_FIELDS, defaults
  for missing ones); a bad value is a RequestError naming its field."""
  options = {}
  for field, default, valid, rule in FILL_FIELDS:
    value = request.get(field)
    value = default if value is None else value
    if not valid(value):
      shown = repr(value)
      shown = shown if len(shown) <= 40 else shown[:37] + "..."
      raise RequestError(f"{field} must be {rule}, got {shown}")
    options[field] = value
  return options


def _threshold(request: dict) -> int:
  threshold = request.get("threshold", 127)
  if not masks.valid_threshold(threshold):
    raise RequestError(f"threshold must be an integer in 0..254, got {threshold!r}")
  return threshold


def check_request(request: dict) -> None:
  """A RequestError naming the field if a setting of ``request`` is bad
  (checked when it arrives; the files are read by its job)."""
  fill_options(request)
  _threshold(request)


def hole_of(request: dict, size: tuple[int, int],
            warnings: list | None = None) -> np.ndarray:
  """The hole (bool (H, W)) of a request for a photograph of ``size`` (W, H):
  the union of an uploaded mask file (same size as the photograph as
  displayed) and the brushed strokes (any size, scaled to the photograph; a
  pixel any stroke touches is hole). ``warnings`` gets a line if the mask
  file looks like a photograph."""
  w, h = size
  threshold = _threshold(request)
  hole = np.zeros((h, w), bool)
  mask_bytes = _decode(request, "mask")
  if mask_bytes is not None:
    try:
      with Image.open(io.BytesIO(mask_bytes)) as image:
        image.load()
        upright = ImageOps.exif_transpose(image)
        if warnings is not None and masks.looks_like_a_photograph(upright):
          warnings.append("the mask file has the many grey levels of a "
                          "photograph, not the black and white of a mask: "
                          "is it the photograph itself?")
        uploaded = masks.mask_from_image(upright, threshold)
    except (OSError, ValueError, SyntaxError) as e:
      raise RequestError(f"cannot read the mask file: {_reason(e)}") from None
    if uploaded.shape != (h, w):
      raise RequestError(
          f"the mask is {uploaded.shape[1]}x{uploaded.shape[0]} but the "
          f"photograph is {w}x{h} (WxH, as displayed); they must match")
    hole |= uploaded
  strokes_bytes = _decode(request, "strokes")
  if strokes_bytes is not None:
    try:
      with Image.open(io.BytesIO(strokes_bytes)) as image:
        image.load()
        drawn = masks.mask_from_image(image, 0).astype(np.uint8) * 255
    except (OSError, ValueError, SyntaxError) as e:
      raise RequestError(f"cannot read the brush strokes: {e}") from None
    hole |= np.asarray(Image.fromarray(drawn).resize((w, h), Image.BOX)) > 0
  return hole


def _reason(error: Exception) -> str:
  """Why an uploaded file could not be read, without Pillow's repr of the
  in-memory file it was given."""
  text = re.sub(r"\s*<_io\.BytesIO object at 0x[0-9a-fA-F]+>", "", str(error))
  if text.startswith("cannot identify image file"):
    return ("not an image file Pillow can read (PNG, JPEG, WebP, TIFF, BMP, "
            "GIF ...)")
  return text


def run_job(job: Job, variables: dict, config: Any, model_name: str) -> None:
  """Inpaints ``job``'s photograph (with its fill settings, as
  inpaint_photos does), updating its progress; sets its result, or its error
  (one line) if the request cannot be served."""
  job.state, job.stage = "running", "reading the photograph"
  try:
    options = fill_options(job.request)
    image_bytes = _decode(job.request, "image")
    if image_bytes is None:
      raise RequestError("no photograph was sent")
    name = os.path.basename(str(job.request.get("name") or "photo"))
    try:
      picture = photo.read(io.BytesIO(image_bytes))
    except (OSError, ValueError, SyntaxError) as e:
      raise RequestError(f"cannot read the photograph {name}: "
                         f"{_reason(e)}") from None
    h, w = picture.pixels.shape[:2]
    warnings = []
    hole = hole_of(job.request, (w, h), warnings)
    if not hole.any():
      raise RequestError("nothing to remove: brush over it or upload a mask")
    grow = options["dilate"]
    hole = masks.dilate(hole, grow)
    if hole.all():
      raise RequestError(
          "the mask covers the whole photograph" + (
              f" once grown by {grow} px (dilate): grow it less" if grow
              else ": there is nothing to fill from"))
    coverage = checks.coverage_warning(hole)
    if coverage:
      warnings.append(f"the hole {coverage}")
    job.stage = "inpainting"

    def progress(done: int, total: int) -> None:
      job.done, job.total = done, total

    max_side = options["max_side"]
    try:
      result = inpaint_photos.fill(
          variables, picture.pixels, hole, config=config, max_side=max_side,
          ensemble=options["ensemble"], progress=progress)
    except ValueError as e:  # e.g. all hole once downscaled
      if not max_side or max(w, h) <= max_side:
        raise
      raise RequestError(f"cannot fill at max_side {max_side}: {e}; use a "
                         "larger max side (0: full size)") from None
    job.stage = "writing the result"
    fmt = picture.format if picture.format in OUTPUT_FORMATS else "PNG"
    ext = OUTPUT_FORMATS[fmt]
    with tempfile.TemporaryDirectory(prefix="pconvgan-app-") as tmp:
      path = os.path.join(tmp, "result" + ext)
      photo.write(path, result, picture)
      with open(path, "rb") as f:
        job.result = f.read()
    job.filename = os.path.splitext(name)[0] + "_inpainted" + ext
    job.content_type = Image.MIME[fmt]
    job.summary = ", ".join(filter(None, [
        f"{w}x{h}", f"{hole.mean() * 100:.1f}% hole"
        + (f" (grown {grow} px)" if grow else ""),
        f"ensemble {options['ensemble']}" if options["ensemble"] > 1 else "",
        f"filled at max side {max_side}" if max_side and max(w, h) > max_side
        else "", f"model {model_name}",
        *(f"warning: {line}" for line in warnings)]))
    job.state, job.stage = "done", "done"
  except RequestError as e:
    job.state, job.stage, job.error = "failed", "failed", str(e)
  except Exception as e:  # pylint: disable=broad-except
    job.state, job.stage = "failed", "failed"
    job.error = f"internal error: {type(e).__name__}: {e}"
    print(f"pconvgan.app: job {job.id} failed: {job.error}", file=sys.stderr)
  finally:
    job.request = {}


class Inpainter:
  """The model and a queue of jobs, run one at a time on a worker thread."""

  def __init__(self, variables: dict, config: Any, model_name: str):
    self.variables, self.config, self.model_name = variables, config, model_name
    self.jobs: dict[str, Job] = {}
    self._ids = itertools.count(1)
    self._queue: queue.Queue[Job] = queue.Queue()
    self._lock = threading.Lock()
    threading.Thread(target=self._work, daemon=True,
                     name="pconvgan-inpaint").start()

  def submit(self, request: dict) -> Job:
    with self._lock:
      job = Job(str(next(self._ids)), request)
      self.jobs[job.id] = job
      finished = [j for j in self.jobs.values() if j.state in ("done", "failed")]
      for old in finished[:max(0, len(finished) - KEEP_JOBS)]:
        del self.jobs[old.id]
    self._queue.put(job)
    return job

  def _work(self) -> None:
    while True:
      job = self._queue.get()
      run_job(job, self.variables, self.config, self.model_name)


def _page_file(name: str) -> bytes:
  return importlib.resources.files("pconvgan").joinpath(
      "page", name).read_bytes()


class Handler(http.server.BaseHTTPRequestHandler):
  """Serves the page and its jobs for ``self.server.inpainter``."""
  server_version = "pconvgan"

  def log_message(self, format, *args):  # pylint: disable=redefined-builtin
    pass  # one line per poll would drown the terminal

  def _send(self, code: int, body: bytes, content_type: str,
            headers: dict | None = None) -> None:
    self.send_response(code)
    self.send_header("Content-Type", content_type)
    self.send_header("Content-Length", str(len(body)))
    self.send_header("Cache-Control", "no-store")
    # The page may load nothing from anywhere else.
    self.send_header("Content-Security-Policy",
                     "default-src 'self'; img-src 'self' blob: data:")
    for key, value in (headers or {}).items():
      self.send_header(key, value)
    self.end_headers()
    self.wfile.write(body)

  def _json(self, code: int, value: dict) -> None:
    self._send(code, json.dumps(value).encode(), "application/json")

  def do_GET(self):  # pylint: disable=invalid-name
    inpainter = self.server.inpainter
    path = urllib.parse.urlparse(self.path).path
    if path in PAGE_FILES:
      name, content_type = PAGE_FILES[path]
      return self._send(200, _page_file(name), content_type)
    if path == "/api/model":
      return self._json(200, {"name": inpainter.model_name})
    parts = path.strip("/").split("/")
    if len(parts) in (3, 4) and parts[:2] == ["api", "jobs"]:
      job = inpainter.jobs.get(parts[2])
      if job is None:
        return self._json(404, {"error": f"no job {parts[2]}"})
      if len(parts) == 3:
        return self._json(200, job.status())
      if parts[3] == "result" and job.result is not None:
        return self._send(200, job.result, job.content_type, {
            "Content-Disposition": f'attachment; filename="{job.filename}"'})
    return self._json(404, {"error": f"not found: {path}"})

  def do_POST(self):  # pylint: disable=invalid-name
    if urllib.parse.urlparse(self.path).path != "/api/jobs":
      return self._json(404, {"error": f"not found: {self.path}"})
    length = int(self.headers.get("Content-Length") or 0)
    if length > MAX_REQUEST_BYTES:
      return self._json(413, {"error": f"request of {length} bytes is over "
                               f"the limit of {MAX_REQUEST_BYTES}"})
    try:
      request = json.loads(self.rfile.read(length))
      if not isinstance(request, dict):
        raise ValueError("not an object")
    except ValueError as e:
      return self._json(400, {"error": f"the request is not JSON: {e}"})
    try:
      check_request(request)
    except RequestError as e:
      return self._json(400, {"error": str(e)})
    return self._json(202, self.server.inpainter.submit(request).status())


class PageServer(http.server.ThreadingHTTPServer):
  """The page's server: listening once made; answers once ``inpainter`` is
  set and ``serve_forever()`` runs."""
  daemon_threads = True
  inpainter: Inpainter | None = None


def listen(host: str = "127.0.0.1", port: int = 7860) -> PageServer:
  """A server bound to ``host:port`` (port 0: a free one, in
  ``server_address``), without a model yet; OSError if it cannot listen
  there. Binding before the model loads reports a taken port at once and
  keeps the port from then on."""
  return PageServer((host, port), Handler)


def serve(variables: dict, config: Any, model_name: str, host: str = "127.0.0.1",
          port: int = 7860) -> PageServer:
  """A started-up (not yet serving) server of the page; call
  ``serve_forever()`` on it, ``shutdown()`` to stop. Port 0 picks a free one
  (``server.server_address``)."""
  server = listen(host, port)
  server.inpainter = Inpainter(variables, config, model_name)
  return server


def main(argv: Sequence[str] | None = None) -> int:
  parser = argparse.ArgumentParser(
      description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  weights.add_ckpt_argument(parser)
  parser.add_argument("--port", type=int, default=7860,
                      help="port to serve on (0: any free one)")
  parser.add_argument("--host", default="127.0.0.1",
                      help="address to listen on (0.0.0.0: every interface)")
  args = parser.parse_args(argv)
  if not 0 <= args.port <= 65535:
    parser.error(f"--port must be in 0..65535, got {args.port}")
  try:  # before loading the model, which takes a while
    server = listen(args.host, args.port)
  except OSError as e:
    print(f"pconvgan.app: error: cannot listen on {args.host}:{args.port}: "
          f"{e.strerror or e}", file=sys.stderr)
    return 1
  try:
    try:
      variables, config, _, name, step, _ = weights.load_any(args.ckpt)
      if args.ckpt is None:
        name = f"shipped with pconvgan (step {step})"
    except (ValueError, FileNotFoundError) as e:
      print(f"pconvgan.app: error: {e}", file=sys.stderr)
      return 1
    server.inpainter = Inpainter(variables, config, name)
    host, port = server.server_address[:2]
    print(f"pconvgan.app: model {name}; open http://{host}:{port}/ "
          "(Ctrl-C stops)", flush=True)
    try:
      server.serve_forever()
    except KeyboardInterrupt:
      pass
  finally:
    server.server_close()
  return 0


if __name__ == "__main__":
  sys.exit(main())
