"""The page (pconvgan.app): its request handling, its server, and the page
itself driven in headless Chromium (upload, brush, inpaint, download)."""

import base64
import io
import json
import os
import shutil
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
])
def test_run_job_errors_name_the_problem(tiny_model, request_, error):
  request_ = dict(request_)
  if request_.get("image") == "PHOTO":
    request_["image"] = _b64(Image.fromarray(_photo()))
  if request_.get("mask") == "FULL":
    request_["mask"] = _b64(Image.new("L", (96, 64), 255))
  job = app.Job("1", request_)
  app.run_job(job, tiny_model, TINY, "tiny")
  assert job.state == "failed" and error in job.error
  assert "BytesIO" not in job.error and "0x" not in job.error


def test_a_taken_port_is_reported_before_the_model_loads(monkeypatch, capsys):
  import socket
  with socket.socket() as taken:
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    assert "in use" in app.port_problem("127.0.0.1", port)

    def no_loading(*_):
      raise AssertionError("the model was loaded before the port was checked")

    monkeypatch.setattr(app.weights, "load_any", no_loading)
    assert app.main(["--port", str(port)]) == 1
  assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in (
      capsys.readouterr().err)
  assert app.port_problem("127.0.0.1", 0) is None


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


CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


@pytest.mark.slow
def test_page_in_headless_chromium(tmp_path):
  """Upload a photograph, brush over a part, inpaint with the shipped model,
  download: the download is the photograph at full size, changed under the
  stroke only, and the page asked nothing of any other address."""
  webdriver = pytest.importorskip("selenium.webdriver")
  from selenium.webdriver.common.by import By  # pylint: disable=import-outside-toplevel
  from selenium.webdriver.support.ui import WebDriverWait  # pylint: disable=import-outside-toplevel
  if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
    pytest.skip("Debian's chromium and chromium-driver are not installed")
  photo_path = str(tmp_path / "coffee.png")
  Image.open(COFFEE).convert("RGB").save(photo_path)
  pixels = np.asarray(Image.open(photo_path))
  downloads = tmp_path / "downloads"
  downloads.mkdir()

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
  try:
    driver.get(base)
    driver.find_element(By.ID, "photo-file").send_keys(photo_path)
    wait = WebDriverWait(driver, 300)
    wait.until(lambda d: "Brush over" in d.find_element(By.ID, "status").text)
    canvas = driver.find_element(By.ID, "strokes")
    width = canvas.size["width"]
    scale = width / pixels.shape[1]  # displayed px per photo px
    # A horizontal stroke across the spoon, in photo pixels (row 150, cols
    # 210 to 290), as a person would drag it.
    chain = webdriver.ActionChains(driver)
    chain.move_to_element_with_offset(
        canvas, int(210 * scale - width / 2),
        int(150 * scale - canvas.size["height"] / 2))
    chain.click_and_hold()
    for _ in range(8):
      chain.move_by_offset(int(10 * scale), 0)
    chain.release().perform()
    driver.find_element(By.ID, "inpaint").click()
    link = wait.until(lambda d: d.find_element(By.ID, "download")
                      if d.find_element(By.ID, "download").is_displayed() else None)
    status = driver.find_element(By.ID, "status").text
    assert "Done" in status, status
    shot = os.environ.get("PCONVGAN_APP_SCREENSHOT")
    if shot:  # docs: the page with a real fill
      driver.execute_script("document.getElementById('split').value = 50;")
      driver.save_screenshot(shot)
      with Image.open(shot) as full:  # the page without the empty bottom
        full.crop((0, 0, full.width, min(full.height, 520))).save(shot)
    link.click()
    target = downloads / "coffee_inpainted.png"
    for _ in range(300):
      if target.exists() and not list(downloads.glob("*.crdownload")):
        break
      time.sleep(0.1)
    result = np.asarray(Image.open(target))
    requests = [json.loads(entry["message"])["message"]
                for entry in driver.get_log("performance")]
  finally:
    driver.quit()
    server.shutdown()
    server.server_close()

  assert result.shape == pixels.shape  # full resolution
  changed = np.abs(result.astype(int) - pixels).max(-1) > 0
  rows, cols = np.nonzero(changed)
  # The stroke (brush 30 display px wide) and nothing else changed.
  assert changed.sum() > 1500
  assert 150 - 40 / scale <= rows.min() and rows.max() <= 150 + 40 / scale
  assert 210 - 40 / scale <= cols.min() and cols.max() <= 290 + 40 / scale
  assert changed[150, 220:280].all()
  urls = {m["params"]["request"]["url"] for m in requests
          if m["method"] == "Network.requestWillBeSent"}
  assert urls, "no requests were logged"
  elsewhere = [u for u in urls if not u.startswith((base, "data:", "blob:"))]
  assert not elsewhere, elsewhere
