"""The page (pconvgan.app): its request handling, its fill settings, its
server, and the page itself driven in headless Chromium (upload, brush,
undo, erase, zoom, settings, inpaint, download, a second pass)."""

import base64
import io
import json
import os
import shutil
import socket
import threading
import time
import urllib.error
import urllib.request

import jax
import numpy as np
import pytest
from PIL import Image

from pconvgan import app
from pconvgan import generator
from pconvgan import weights

TINY = {"width": 0.125}
COFFEE = os.path.join(os.path.dirname(app.__file__), "demo_data", "coffee.jpg")


@pytest.fixture(scope="module")
def tiny_model():
  return generator.init_generator(jax.random.key(0), TINY)


def _b64(image: Image.Image, fmt: str = "PNG", **options) -> str:
  buffer = io.BytesIO()
  image.save(buffer, format=fmt, **options)
  return base64.b64encode(buffer.getvalue()).decode()


def _photo(h=64, w=96, seed=0) -> np.ndarray:
  return np.random.default_rng(seed).integers(0, 256, (h, w, 3), np.uint8)


def _strokes(h, w, box) -> Image.Image:
  """Transparent strokes canvas with an opaque box (r0, r1, c0, c1)."""
  rgba = np.zeros((h, w, 4), np.uint8)
  r0, r1, c0, c1 = box
  rgba[r0:r1, c0:c1] = (255, 40, 40, 255)
  return Image.fromarray(rgba)


def test_hole_of_scales_strokes_and_unites_with_mask():
  # Strokes drawn on a canvas of half the photo's size: a stroke pixel
  # covers 2x2 photo pixels.
  strokes = _strokes(16, 24, (2, 4, 3, 5))
  mask = np.zeros((32, 48), np.uint8)
  mask[20:22, 40:45] = 1  # a 0/1 mask file
  hole = app.hole_of({"strokes": _b64(strokes),
                      "mask": _b64(Image.fromarray(mask))}, (48, 32))
  want = np.zeros((32, 48), bool)
  want[4:8, 6:10] = True
  want[20:22, 40:45] = True
  np.testing.assert_array_equal(hole, want)


def test_hole_of_refuses_bad_input():
  with pytest.raises(app.RequestError, match="mask is 10x10 but the photograph is 48x32"):
    app.hole_of({"mask": _b64(Image.new("L", (10, 10), 255))}, (48, 32))
  with pytest.raises(app.RequestError, match="strokes is not valid base64"):
    app.hole_of({"strokes": "not base64!"}, (48, 32))
  with pytest.raises(app.RequestError, match="cannot read the mask file"):
    app.hole_of({"mask": base64.b64encode(b"not an image").decode()}, (48, 32))
  with pytest.raises(app.RequestError, match="threshold must be an integer in 0..254"):
    app.hole_of({"threshold": 300}, (48, 32))


def test_run_job_fills_only_the_hole_and_keeps_the_format(tiny_model):
  pixels = _photo()
  strokes = _strokes(64, 96, (20, 40, 30, 60))
  job = app.Job("1", {"image": _b64(Image.fromarray(pixels)), "name": "a/b.png",
                      "strokes": _b64(strokes)})
  app.run_job(job, tiny_model, TINY, "tiny")
  assert job.state == "done", job.error
  assert job.filename == "b_inpainted.png" and job.content_type == "image/png"
  assert job.total >= 1 and job.done == job.total
  out = np.asarray(Image.open(io.BytesIO(job.result)))
  hole = np.zeros((64, 96), bool)
  hole[20:40, 30:60] = True
  np.testing.assert_array_equal(out[~hole], pixels[~hole])
  assert np.abs(out[hole].astype(int) - pixels[hole]).mean() > 5
  assert job.request == {}  # the upload is not kept

  jpeg = app.Job("2", {"image": _b64(Image.fromarray(pixels), "JPEG", quality=70),
                       "name": "c.jpg", "strokes": _b64(strokes)})
  app.run_job(jpeg, tiny_model, TINY, "tiny")
  assert jpeg.filename == "c_inpainted.jpg"
  assert Image.open(io.BytesIO(jpeg.result)).format == "JPEG"


@pytest.mark.parametrize("request_, error", [
    ({}, "no photograph was sent"),
    ({"image": base64.b64encode(b"GIF89a junk").decode(), "name": "x.gif"},
     "cannot read the photograph x.gif"),
    ({"image": base64.b64encode(b"plain text").decode(), "name": "notes.txt"},
     "cannot read the photograph notes.txt: not an image file Pillow can read"),
    ({"image": "PHOTO"}, "nothing to remove"),
    ({"image": "PHOTO", "mask": "FULL"}, "covers the whole photograph"),
    ({"image": "PHOTO", "mask": "BOX", "dilate": 120},
     "the mask covers the whole photograph once grown by 120 px (dilate)"),
    # Once downscaled, the known column is hole too.
    ({"image": "PHOTO", "mask": "ALL_BUT_A_COLUMN", "max_side": 64},
     "cannot fill at max_side 64: the mask is all hole"),
    ({"image": "PHOTO", "mask": "BOX", "ensemble": 3}, "ensemble must be one of 1, 2, 4, 8"),
])
def test_run_job_errors_name_the_problem(tiny_model, request_, error):
  request_ = dict(request_)
  if request_.get("image") == "PHOTO":
    request_["image"] = _b64(Image.fromarray(_photo()))
  masks_ = {"FULL": np.full((64, 96), 255, np.uint8),
            "BOX": np.pad(np.full((4, 4), 255, np.uint8), ((30, 30), (40, 52))),
            "ALL_BUT_A_COLUMN": np.pad(np.full((64, 95), 255, np.uint8), ((0, 0), (1, 0)))}
  if request_.get("mask") in masks_:
    request_["mask"] = _b64(Image.fromarray(masks_[request_["mask"]]))
  job = app.Job("1", request_)
  app.run_job(job, tiny_model, TINY, "tiny")
  assert job.state == "failed" and error in job.error
  assert "BytesIO" not in job.error and "0x" not in job.error


def test_a_taken_port_is_reported_before_the_model_loads(monkeypatch, capsys):
  with socket.socket() as taken:
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]

    def no_loading(*_):
      raise AssertionError("the model was loaded before the port was checked")

    monkeypatch.setattr(app.weights, "load_any", no_loading)
    assert app.main(["--port", str(port)]) == 1
  assert capsys.readouterr().err == (
      f"pconvgan.app: error: cannot listen on 127.0.0.1:{port}: Address "
      "already in use\n")


def test_the_port_is_bound_once_and_held_while_the_model_loads(monkeypatch, capsys):
  """No probe-then-bind race: the server's own bind, before loading, is the
  only one; the port listens while the model loads, and is let go if the
  model cannot be loaded."""
  with socket.socket() as probe:
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
  binds = []
  bind = socket.socket.bind
  monkeypatch.setattr(socket.socket, "bind",
                      lambda sock, address: binds.append(address) or bind(sock, address))

  def loading(_):
    assert binds == [("127.0.0.1", port)]
    with socket.create_connection(("127.0.0.1", port), timeout=5):
      pass  # the page's server already listens there
    raise ValueError("no checkpoint in runs/missing")

  monkeypatch.setattr(app.weights, "load_any", loading)
  assert app.main(["--port", str(port)]) == 1
  assert capsys.readouterr().err == (
      "pconvgan.app: error: no checkpoint in runs/missing\n")
  with socket.socket() as again:  # the port was let go
    again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    again.bind(("127.0.0.1", port))


def _get(url):
  with urllib.request.urlopen(url, timeout=30) as response:
    return response.status, response.headers, response.read()


def test_server_serves_the_page_and_jobs(tiny_model):
  server = app.serve(tiny_model, TINY, "tiny", port=0)
  threading.Thread(target=server.serve_forever, daemon=True).start()
  base = "http://%s:%d" % server.server_address[:2]
  try:
    status, headers, page = _get(base + "/")
    assert status == 200 and b"page.js" in page
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    for name in ("/page.js", "/page.css", "/"):  # nothing from elsewhere
      body = _get(base + name)[2].decode()
      assert "http://" not in body and "https://" not in body and "//" + "cdn" not in body
    assert json.loads(_get(base + "/api/model")[2]) == {"name": "tiny"}

    pixels = _photo()
    body = json.dumps({"image": _b64(Image.fromarray(pixels)), "name": "p.png",
                       "strokes": _b64(_strokes(32, 48, (5, 10, 5, 10)))}).encode()
    request = urllib.request.Request(base + "/api/jobs", data=body, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
      job = json.loads(response.read())
    for _ in range(600):
      status = json.loads(_get(f"{base}/api/jobs/{job['id']}")[2])
      if status["state"] in ("done", "failed"):
        break
      time.sleep(0.1)
    assert status["state"] == "done", status
    code, headers, result = _get(f"{base}/api/jobs/{job['id']}/result")
    assert headers["Content-Disposition"] == 'attachment; filename="p_inpainted.png"'
    assert np.asarray(Image.open(io.BytesIO(result))).shape == pixels.shape

    with pytest.raises(urllib.error.HTTPError) as missing:
      _get(base + "/api/jobs/999")
    assert missing.value.code == 404
    bad = urllib.request.Request(base + "/api/jobs", data=b"{not json", method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
      urllib.request.urlopen(bad, timeout=30)
    assert refused.value.code == 400
    assert "not JSON" in json.loads(refused.value.read())["error"]
  finally:
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def page_server(tiny_model):
  """The page's server on a free port with the tiny model: (base URL, server)."""
  server = app.serve(tiny_model, TINY, "tiny", port=0)
  threading.Thread(target=server.serve_forever, daemon=True).start()
  yield "http://%s:%d" % server.server_address[:2], server
  server.shutdown()
  server.server_close()


def _post(base, body: dict):
  """(HTTP status, JSON answer) of a job request."""
  request = urllib.request.Request(base + "/api/jobs", data=json.dumps(body).encode(),
                                   method="POST")
  try:
    with urllib.request.urlopen(request, timeout=30) as response:
      return response.status, json.loads(response.read())
  except urllib.error.HTTPError as e:
    return e.code, json.loads(e.read())


def _inpaint(base, pixels, hole_box, **fields):
  """Inpaints ``pixels`` with the box (r0, r1, c0, c1) brushed, through the
  server: (job status, result pixels)."""
  h, w = pixels.shape[:2]
  code, job = _post(base, {"image": _b64(Image.fromarray(pixels)), "name": "p.png",
                           "strokes": _b64(_strokes(h, w, hole_box)), **fields})
  assert code == 202, job
  for _ in range(1200):
    status = json.loads(_get(f"{base}/api/jobs/{job['id']}")[2])
    if status["state"] in ("done", "failed"):
      break
    time.sleep(0.1)
  assert status["state"] == "done", status
  result = _get(f"{base}/api/jobs/{job['id']}/result")[2]
  return status, np.asarray(Image.open(io.BytesIO(result)))


def test_fill_options_defaults_and_values():
  defaults = {"ensemble": 1, "max_side": 0, "dilate": 0}
  assert app.fill_options({}) == defaults
  assert app.fill_options({"ensemble": None, "max_side": None, "dilate": None}) == defaults
  assert app.fill_options({"ensemble": 8, "max_side": 64, "dilate": 10000}) == {
      "ensemble": 8, "max_side": 64, "dilate": 10000}


def test_fill_settings_go_to_the_command_lines_fill(page_server, monkeypatch):
  """ensemble and max_side reach inpaint_photos.fill, the hole grown by
  masks.dilate, as inpaint_photos' --ensemble, --max-side and --dilate."""
  base, _ = page_server
  calls = []
  fill, dilate = app.inpaint_photos.fill, app.masks.dilate
  monkeypatch.setattr(app.inpaint_photos, "fill", lambda *a, **k: calls.append(
      ("fill", a[2].copy(), k)) or fill(*a, **k))
  monkeypatch.setattr(app.masks, "dilate", lambda hole, n: calls.append(
      ("dilate", hole.copy(), n)) or dilate(hole, n))
  pixels = _photo(96, 128)
  status, out = _inpaint(base, pixels, (40, 50, 60, 70), ensemble=4, max_side=64, dilate=2)
  (_, brushed, grow), (_, hole, options) = calls
  assert grow == 2 and brushed.sum() == 100
  np.testing.assert_array_equal(hole, dilate(brushed, 2))
  assert options["ensemble"] == 4 and options["max_side"] == 64
  assert out.shape == pixels.shape  # full size, though filled at 64
  assert status["summary"] == (f"128x96, {hole.mean() * 100:.1f}% hole (grown 2 "
                               "px), ensemble 4, filled at max side 64, model tiny")


def test_a_hole_over_most_of_the_photograph_is_warned_of(page_server):
  """As on the command line: a hole over most of the photograph (an
  inverted mask?) is filled, and the summary says so; a small one is not."""
  base, _ = page_server
  pixels = _photo(96, 128)
  status = _inpaint(base, pixels, (0, 96, 0, 120))[0]
  assert status["summary"].endswith(
      "warning: the hole covers 93% of the image: is it inverted? (white = "
      "the part to fill)"), status
  assert "warning" not in _inpaint(base, pixels, (40, 50, 60, 70))[0]["summary"]


def test_a_photograph_sent_as_the_mask_is_warned_of(page_server):
  """As on the command line: a mask file with a photograph's grey levels
  (the photograph itself, painted over) is used, and the summary says so."""
  base, _ = page_server
  pixels = _photo(96, 128)
  painted = pixels.copy()
  painted[40:50, 60:70] = 255
  status = _inpaint(base, pixels, (40, 50, 60, 70),
                    mask=_b64(Image.fromarray(painted)))[0]
  assert ("warning: the mask file has the many grey levels of a photograph"
          in status["summary"]), status
  mask = np.zeros((96, 128), np.uint8)
  mask[40:50, 60:70] = 255
  status = _inpaint(base, pixels, (40, 50, 60, 70),
                    mask=_b64(Image.fromarray(mask)))[0]
  assert "warning" not in status["summary"], status


def test_fill_settings_change_the_fill(page_server):
  """Each setting, sent to the server, changes the result as the command
  line's would: only hole pixels, the grown ring included, change."""
  base, _ = page_server
  pixels = _photo(96, 128)
  box = (40, 56, 50, 70)
  hole = np.zeros((96, 128), bool)
  hole[40:56, 50:70] = True
  plain = _inpaint(base, pixels, box)[1]
  for fields in ({"ensemble": 2}, {"max_side": 64}, {"dilate": 3}):
    out = _inpaint(base, pixels, box, **fields)[1]
    grown = app.masks.dilate(hole, fields.get("dilate", 0))
    changed = np.abs(out.astype(int) - pixels).max(-1) > 0
    assert not changed[~grown].any(), fields
    assert changed[grown].mean() > 0.9, fields
    differs = np.abs(out.astype(int) - plain).max(-1) > 0
    assert differs[hole].mean() > 0.5, fields  # not the default fill
  assert changed[grown & ~hole].mean() > 0.9  # the 3 px ring is filled too


RULES = {"ensemble": "one of 1, 2, 4, 8",
         "max_side": "0 (full size) or a whole number of pixels >= 64",
         "dilate": "a whole number of pixels in 0..10000",
         "threshold": "an integer in 0..254"}


@pytest.mark.parametrize("field, value", [
    pytest.param(field, value, id=f"{field}={value!r}"[:24])
    for field, value in [
        ("ensemble", 3), ("ensemble", 0), ("ensemble", "2"), ("ensemble", 2.0),
        ("ensemble", True), ("max_side", -1), ("max_side", 10),
        ("max_side", 512.5), ("max_side", "512"), ("max_side", [512]),
        ("dilate", -2), ("dilate", 1.5), ("dilate", "3"), ("dilate", 10**400),
        ("dilate", {"px": 3}), ("threshold", 255)]])
def test_a_bad_setting_is_refused_in_one_line(page_server, field, value):
  """HTTP 400 and one line naming the field, before any job is made."""
  base, server = page_server
  jobs = len(server.inpainter.jobs)
  code, answer = _post(base, {"image": _b64(Image.fromarray(_photo())),
                              "strokes": _b64(_strokes(64, 96, (5, 10, 5, 10))),
                              field: value})
  assert code == 400
  error = answer["error"]
  assert error.startswith(f"{field} must be {RULES[field]}"), error
  assert f", got {repr(value)[:30]}" in error
  assert "\n" not in error and "Traceback" not in error and len(error) < 200
  assert len(server.inpainter.jobs) == jobs


CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"

# Pixels of the strokes canvas a stroke left opaque (any alpha).
COUNT_PAINTED = """
  const c = document.getElementById('strokes');
  const a = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 3; i < a.length; i += 4) n += a[i] > 0;
  return n;"""
# The photograph's box on the screen and its size in its own pixels.
PHOTO_BOX = """
  const img = document.getElementById('photo'), r = img.getBoundingClientRect();
  return [r.left, r.top, r.width, r.height, img.naturalWidth, img.naturalHeight];"""

# The middle of the part of the photograph in view, on the screen (the zoom
# buttons keep the photo pixel there where it is).
VIEW_MIDDLE = """
  const v = document.getElementById('viewport'), b = v.getBoundingClientRect();
  const r = document.getElementById('photo').getBoundingClientRect();
  return [(Math.max(b.left, r.left) + Math.min(b.left + v.clientWidth, r.right)) / 2,
          (Math.max(b.top, r.top) + Math.min(b.top + v.clientHeight, r.bottom)) / 2];"""


class PageDriver:
  """Drives the page in Chromium as a person would, in photo pixels."""

  def __init__(self, driver):
    from selenium.webdriver.common.by import By  # pylint: disable=import-outside-toplevel
    self.driver, self.by = driver, By

  def __getitem__(self, element_id):
    return self.driver.find_element(self.by.ID, element_id)

  def js(self, script, *args):
    return self.driver.execute_script(script, *args)

  def screen(self, row, col):
    """Where the photo pixel (row, col) is on the screen (CSS pixels)."""
    left, top, width, height, w, h = self.js(PHOTO_BOX)
    return left + (col + 0.5) * width / w, top + (row + 0.5) * height / h

  def drag(self, points, brush=None):
    """A brush stroke through photo pixels ``points`` [(row, col)...], with
    the brush slider at ``brush`` display pixels."""
    from selenium.webdriver.common.actions.action_builder import ActionBuilder  # pylint: disable=import-outside-toplevel
    if brush is not None:
      self.set_value("brush", brush)
    actions = ActionBuilder(self.driver)
    for i, (row, col) in enumerate(points):
      x, y = self.screen(row, col)
      actions.pointer_action.move_to_location(round(x), round(y))
      if i == 0:
        actions.pointer_action.pointer_down()
    actions.pointer_action.pointer_up()
    actions.perform()

  def line(self, row, col0, col1, steps=8, brush=None):
    self.drag([(row, col0 + (col1 - col0) * i / steps)
               for i in range(steps + 1)], brush)

  def set_value(self, element_id, value):
    self.js("const e = document.getElementById(arguments[0]); e.value = arguments[1];"
            "e.dispatchEvent(new Event('input', {bubbles: true}));"
            "e.dispatchEvent(new Event('change', {bubbles: true}));",
            element_id, str(value))

  def type_into(self, element_id, text):
    field = self[element_id]
    field.clear()
    field.send_keys(text)

  def painted(self):
    return self.js(COUNT_PAINTED)

  def status(self):
    return self["status"].text

  def scroll_to(self, row, col):
    """Scrolls the zoomed photograph to put photo pixel (row, col) in the
    middle of the view."""
    x, y = self.screen(row, col)
    self.js("const v = document.getElementById('viewport'), r = v.getBoundingClientRect();"
            "v.scrollLeft += arguments[0] - r.left - v.clientWidth / 2;"
            "v.scrollTop += arguments[1] - r.top - v.clientHeight / 2;", x, y)

  def zoom(self):
    """Display pixels per photo pixel."""
    _, _, width, _, w, _ = self.js(PHOTO_BOX)
    return width / w

  def ctrl_wheel(self, row, col, delta_y):
    """A Ctrl + mouse wheel turn over photo pixel (row, col)."""
    x, y = self.screen(row, col)
    self.js("document.getElementById('strokes').dispatchEvent(new WheelEvent('wheel', "
            "{deltaY: arguments[2], ctrlKey: true, clientX: arguments[0], "
            "clientY: arguments[1], bubbles: true, cancelable: true}));",
            x, y, delta_y)

  def under(self, x, y):
    """The photo pixel (row, col) at screen point (x, y), as floats."""
    left, top, width, height, w, h = self.js(PHOTO_BOX)
    return (y - top) * h / height - 0.5, (x - left) * w / width - 0.5

  def wait(self, condition, timeout=300):
    from selenium.webdriver.support.ui import WebDriverWait  # pylint: disable=import-outside-toplevel
    return WebDriverWait(self.driver, timeout).until(lambda _: condition())


def _record_fills(monkeypatch):
  """Every fill the server runs: the hole it read from the request (before
  growing), the size of the strokes image sent, and the arguments it gave
  inpaint_photos.fill."""
  fills = []
  hole_of, fill = app.hole_of, app.inpaint_photos.fill

  def recording_hole_of(request, size, warnings=None):
    hole = hole_of(request, size, warnings)
    strokes = base64.b64decode(request["strokes"].split(",", 1)[1])
    fills.append({"strokes_hole": hole.copy(),
                  "strokes_size": Image.open(io.BytesIO(strokes)).size})
    return hole

  def recording_fill(variables, image, hole, **kwargs):
    fills[-1].update(image=image.copy(), hole=hole.copy(), **kwargs)
    return fill(variables, image, hole, **kwargs)

  monkeypatch.setattr(app, "hole_of", recording_hole_of)
  monkeypatch.setattr(app.inpaint_photos, "fill", recording_fill)
  return fills


@pytest.mark.slow
def test_page_in_headless_chromium(tmp_path, monkeypatch):
  """A large photograph: brush, undo (button and Ctrl+Z), clear and undo it,
  erase, zoom (buttons and Ctrl + wheel) and brush zoomed in, pan, choose
  ensemble, max side and grow, inpaint with the shipped model, download; then
  take the result as the photograph, brush and inpaint again, and undo back
  to the first photograph. The server gets the hole brushed, at the pixels
  brushed at any zoom, and the settings chosen; the download is the
  photograph at full size, changed in the grown hole only; and the page asks
  nothing of any other address."""
  webdriver = pytest.importorskip("selenium.webdriver")
  from selenium.webdriver.common.keys import Keys  # pylint: disable=import-outside-toplevel
  from selenium.webdriver.support.ui import Select  # pylint: disable=import-outside-toplevel
  if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
    pytest.skip("Debian's chromium and chromium-driver are not installed")
  photo_path = str(tmp_path / "coffee.png")
  # Larger than the window, so that it is shown scaled down until zoomed, and
  # than the strokes shown (page.js's MAX_STROKE_SIDE).
  Image.open(COFFEE).convert("RGB").resize((2400, 1600), Image.BICUBIC).save(photo_path)
  pixels = np.asarray(Image.open(photo_path))
  downloads = tmp_path / "downloads"
  downloads.mkdir()
  fills = _record_fills(monkeypatch)

  variables, config = weights.pretrained()
  server = app.serve(variables, config, "shipped", port=0)
  threading.Thread(target=server.serve_forever, daemon=True).start()
  base = "http://%s:%d/" % server.server_address[:2]

  options = webdriver.ChromeOptions()
  options.binary_location = CHROMIUM
  for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
              "--window-size=1400,900",
              # Any address but this machine's goes to a closed port.
              "--proxy-server=127.0.0.1:9"):
    options.add_argument(arg)
  options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
  options.add_experimental_option("prefs", {
      "download.default_directory": str(downloads),
      "download.prompt_for_download": False})
  os.environ.setdefault("SE_OFFLINE", "true")  # no driver download
  driver = webdriver.Chrome(
      options=options, service=webdriver.ChromeService(CHROMEDRIVER))
  page = PageDriver(driver)
  try:
    driver.get(base)
    page["photo-file"].send_keys(photo_path)
    page.wait(lambda: "Brush over" in page.status())
    fit = page.zoom()
    assert fit < 0.8 and page["zoom-level"].text == f"{round(fit * 100)}%"
    assert page["zoom-out"].get_attribute("disabled")  # fit is the least

    # Brush, undo (button, then Ctrl+Z), clear and undo the clear.
    page.line(300, 300, 700, brush=30)
    one = page.painted()
    page.line(800, 1000, 1300)
    assert page.painted() > 1.5 * one
    page["undo"].click()
    assert page.painted() == one
    page.line(900, 200, 400)
    page["brush"].send_keys(Keys.CONTROL, "z")  # focus on a slider: still the page's undo
    assert page.painted() == one
    page["clear"].click()
    assert page.painted() == 0 and page["inpaint"].get_attribute("disabled")
    page["undo"].click()
    assert page.painted() == one and page["inpaint"].is_enabled()

    # Erase the middle of the stroke with a wider brush.
    page["erase-mode"].click()
    assert page["erase-mode"].get_attribute("aria-pressed") == "true"
    page.drag([(240, 500), (360, 500)], brush=80)
    assert 0.5 * one < page.painted() < 0.85 * one
    page["paint-mode"].click()

    # Zoom in with the buttons (about the middle of the photograph), out and
    # in with Ctrl + wheel at a point (which stays under the pointer), brush
    # zoomed in.
    page["zoom-in"].click()
    for _ in range(2):  # the photograph now overflows the view
      middle = page.js(VIEW_MIDDLE)
      pixel = page.under(*middle)
      page["zoom-in"].click()
      assert page.under(*middle) == pytest.approx(pixel, abs=1)
    assert page.zoom() == pytest.approx(fit * 1.5 ** 3, rel=0.01)
    view = "const v = document.getElementById('viewport');"
    assert page.js(view + "return v.scrollWidth > v.clientWidth && v.scrollHeight > v.clientHeight")
    page.scroll_to(600, 730)
    x, y = page.screen(600, 730)
    page.ctrl_wheel(600, 730, -100)
    assert page.zoom() == pytest.approx(fit * 1.5 ** 3 * 1.25, rel=0.01)
    assert page.under(x, y) == pytest.approx((600, 730), abs=0.5)
    page.ctrl_wheel(600, 730, 100)
    page.ctrl_wheel(600, 730, -100)
    zoom = page.zoom()
    assert zoom > 1.2 and page["zoom-level"].text == f"{round(zoom * 100)}%"
    page.line(600, 700, 760, steps=6, brush=9)  # 9 / zoom photo pixels wide
    # Pan: Space held and a drag scroll, and brush nothing.
    painted = page.painted()
    scroll = page.js(view + "return [v.scrollLeft, v.scrollTop]")
    webdriver.ActionChains(driver).key_down(Keys.SPACE).perform()
    page.drag([(600, 760), (560, 700)])
    webdriver.ActionChains(driver).key_up(Keys.SPACE).perform()
    panned = page.js(view + "return [v.scrollLeft, v.scrollTop]")
    assert panned[0] > scroll[0] + 50 and panned[1] > scroll[1] + 30
    assert page.painted() == painted
    page["zoom-fit"].click()
    assert page.zoom() == pytest.approx(fit)

    # The command line's settings, then a fill.
    Select(page["ensemble"]).select_by_value("2")
    page.type_into("max-side", "768")
    page.type_into("grow", "3")
    page["inpaint"].click()
    page.wait(lambda: page["download"].is_displayed()
              or "Error" in page.status())
    status = page.status()
    assert "Done" in status and "(grown 3 px)" in status, status
    assert "ensemble 2" in status and "filled at max side 768" in status
    shot = os.environ.get("PCONVGAN_APP_SCREENSHOT")
    if shot:  # docs: the page with a real fill
      driver.execute_script("document.getElementById('split').value = 50;")
      driver.save_screenshot(shot)
      with Image.open(shot) as full:  # the page without the empty bottom
        full.crop((0, 0, full.width, min(full.height, 620))).save(shot)
    page["download"].click()
    target = downloads / "coffee_inpainted.png"
    for _ in range(300):
      if target.exists() and not list(downloads.glob("*.crdownload")):
        break
      time.sleep(0.1)
    result = np.asarray(Image.open(target))

    # A second pass on the result, at full size, then undo back.
    page["use-result"].click()
    page.wait(lambda: "now the photograph" in page.status())
    assert page.painted() == 0 and not page["compare"].is_displayed()
    Select(page["ensemble"]).select_by_value("1")
    page.type_into("max-side", "0")
    page.type_into("grow", "0")
    page.line(150, 1100, 1200, brush=30)
    page["inpaint"].click()
    page.wait(lambda: page["download"].is_displayed()
              or "Error" in page.status())
    status = page.status()
    assert "Done" in status and "ensemble" not in status, status
    assert page["download"].get_attribute("download") == "coffee_inpainted.png"
    driver.find_element(page.by.TAG_NAME, "body").send_keys(Keys.CONTROL, "z")
    assert page.painted() == 0  # the second pass's stroke
    page["undo"].click()
    page.wait(lambda: "before the last pass" in page.status())
    assert page.painted() == painted  # the first photograph's strokes
    assert page.js("return document.getElementById('photo').src") == page.js(
        "return document.getElementById('before').src")
    assert page["use-result"].is_displayed() and page["compare"].is_displayed()
    requests = [json.loads(entry["message"])["message"]
                for entry in driver.get_log("performance")]
  finally:
    driver.quit()
    server.shutdown()
    server.server_close()

  first, second = fills
  # What was brushed reached the server, at the photo pixels brushed.
  brushed = first["strokes_hole"]
  # Sent at the photograph's size (not the strokes shown, 2048 wide).
  assert first["strokes_size"] == second["strokes_size"] == (2400, 1600)
  radius, erased = 15 / fit, 40 / fit  # of the brush and eraser, in photo pixels
  row = brushed[300]
  assert row[round(300 - radius) + 1:round(500 - erased) - 1].all()
  assert row[round(500 + erased) + 1:round(700 + radius) - 1].all()
  assert not row[round(500 - erased) + 2:round(500 + erased) - 1].any()
  assert not row[:round(300 - radius) - 1].any()
  assert not row[round(700 + radius) + 2:].any()
  assert not brushed[round(300 + radius) + 2:520].any()
  assert not brushed[700:].any()  # undone and cleared strokes
  rows, cols = np.nonzero(brushed[400:])  # the stroke brushed zoomed in
  thin = 9 / zoom
  assert np.mean(rows + 400) == pytest.approx(600, abs=0.5)
  assert rows.max() - rows.min() + 1 == pytest.approx(thin, abs=2)
  assert cols.min() == pytest.approx(700 - thin / 2, abs=1.5)
  assert cols.max() == pytest.approx(760 + thin / 2, abs=1.5)
  # The settings chosen, given to the command line's fill; grown as it grows.
  assert first["ensemble"] == 2 and first["max_side"] == 768
  np.testing.assert_array_equal(first["hole"], app.masks.dilate(brushed, 3))
  assert first["hole"].sum() > brushed.sum()
  assert result.shape == pixels.shape  # full resolution
  changed = np.abs(result.astype(int) - pixels).max(-1) > 0
  assert not changed[~first["hole"]].any()
  assert changed[first["hole"]].mean() > 0.9
  # The second pass: the first result, its own stroke and settings.
  np.testing.assert_array_equal(np.round(second["image"] * 255), result)
  assert second["ensemble"] == 1 and second["max_side"] == 0
  np.testing.assert_array_equal(second["hole"], second["strokes_hole"])
  rows, cols = np.nonzero(second["hole"])
  slack = 0.5 / fit + 0.5  # a pointer lands on whole CSS pixels
  assert abs(rows.mean() - 150) < slack
  assert 1100 - radius - 2 * slack <= cols.min() <= cols.max() <= 1200 + radius + 2 * slack

  urls = {m["params"]["request"]["url"] for m in requests
          if m["method"] == "Network.requestWillBeSent"}
  assert urls, "no requests were logged"
  elsewhere = [u for u in urls if not u.startswith((base, "data:", "blob:"))]
  assert not elsewhere, elsewhere
