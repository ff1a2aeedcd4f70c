// The pconvgan page: upload, brush (paint, erase, undo), zoom, inpaint,
// compare, download, and inpaint the result again.
// Talks only to the server that served it (see pconvgan/app.py).
"use strict";

const MAX_STROKE_SIDE = 2048;  // resolution of the strokes shown on the photo
const MAX_SENT_SIDE = 8192;  // strokes are sent at the photo's size up to this; the server scales them
const STROKE_COLOUR = "rgb(255, 40, 40)";
const ZOOM_STEP = 1.5;  // per button press; the mouse wheel zooms by 1.25
const MAX_ZOOM = 8;  // display pixels per photo pixel
const MAX_UNDO = 200;
const $ = (id) => document.getElementById(id);
const state = {
  photo: null,      // data URL of the photograph, as sent
  photoName: null,
  url: null,        // object URL of the photograph, as shown
  mask: null,       // data URL of an uploaded mask
  maskUrl: null,
  size: null,       // [width, height] of the photograph, in its pixels
  ops: [],          // brush strokes in photo pixels: {erase, width, points} or {clear: true}
  history: [],      // undo steps: "strokes" (take back the last of ops) or a previous photograph
  stroking: false,  // a stroke is being drawn
  painted: false,   // some brushed pixel is hole
  erase: false,
  zoom: null,       // display pixels per photo pixel; null: fit the page
  job: null,        // the last fill of this photograph: {id, filename, summary, resultUrl}
  busy: false,
};

function setStatus(text, isError = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", isError);
}

function readAsDataURL(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

function updateButtons() {
  $("inpaint").disabled = state.busy || !state.photo || !(state.painted || state.mask);
  $("clear").disabled = !state.painted;
  $("undo").disabled = !state.history.length;
  $("use-result").disabled = state.busy;
  for (const id of ["zoom-in", "zoom-fit"]) $(id).disabled = !state.size;
  $("zoom-out").disabled = !state.size || state.zoom === null;
  $("zoom-level").textContent = state.size ? `${Math.round(displayScale() * 100)}%` : "";
}

// Strokes -----------------------------------------------------------------

// Draws ``op`` (its points from ``from`` on) on a context whose transform
// maps photo pixels to its canvas: a dot, then one segment per point, as the
// stroke was drawn live, so that a redraw is the same to the pixel.
function drawOp(ctx, op, from = 0) {
  if (op.clear) {
    ctx.save();
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, ctx.canvas.width, ctx.canvas.height);
    ctx.restore();
    return;
  }
  ctx.globalCompositeOperation = op.erase ? "destination-out" : "source-over";
  ctx.strokeStyle = STROKE_COLOUR;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  ctx.lineWidth = op.width;
  for (let i = from; i < op.points.length; i++) {
    const a = op.points[Math.max(0, i - 1)], b = op.points[i];
    ctx.beginPath();
    ctx.moveTo(a[0], a[1]);
    ctx.lineTo(b[0], b[1]);
    ctx.stroke();
  }
  ctx.globalCompositeOperation = "source-over";
}

// Draws every stroke on ``canvas`` (any resolution), from scratch.
function renderOps(canvas) {
  const ctx = canvas.getContext("2d");
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.setTransform(canvas.width / state.size[0], 0, 0, canvas.height / state.size[1], 0, 0);
  for (const op of state.ops) drawOp(ctx, op);
}

// Whether any brushed pixel is left on the shown strokes.
function anyPainted() {
  const canvas = $("strokes");
  const alpha = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  for (let i = 3; i < alpha.length; i += 4) if (alpha[i]) return true;
  return false;
}

function strokesChanged() {
  state.painted = anyPainted();
  updateButtons();
}

// The strokes as a PNG at the photograph's size (at most MAX_SENT_SIDE), so
// that they stay on the pixels they were drawn on at any zoom.
function strokesDataURL() {
  const [w, h] = state.size;
  const scale = Math.min(1, MAX_SENT_SIDE / Math.max(w, h));
  const canvas = document.createElement("canvas");
  canvas.width = Math.max(1, Math.round(w * scale));
  canvas.height = Math.max(1, Math.round(h * scale));
  renderOps(canvas);
  return canvas.toDataURL("image/png");
}

function pushOp(op) {
  state.ops.push(op);
  state.history.push("strokes");
  const oldest = state.history.indexOf("strokes");
  if (state.history.length > MAX_UNDO && oldest >= 0) {
    state.history.splice(oldest, 1);  // its stroke stays for good
  }
}

function undo() {
  const step = state.history[state.history.length - 1];
  if (!step || state.stroking || (step !== "strokes" && state.busy)) return;
  state.history.pop();
  if (step === "strokes") {
    const op = state.ops.pop();
    renderOps($("strokes"));
    strokesChanged();
    setStatus(op.clear ? "Undone: Clear strokes." : "Undone: the last stroke.");
  } else {
    restorePhoto(step);
  }
}

// Zoom --------------------------------------------------------------------

// Display pixels per photo pixel, as shown now.
function displayScale() {
  const shown = $("photo").getBoundingClientRect().width;
  return shown && state.size ? shown / state.size[0] : 1;
}

// The scale at which the photograph fits the page (as the page shows it unzoomed).
function fitScale() {
  const view = $("viewport");
  const [w, h] = state.size;
  return Math.min(1, view.clientWidth / w, 0.75 * window.innerHeight / h);
}

// Shows the photograph at ``scale`` (null or at most the fit: fit the page),
// keeping the photo pixel under ``anchor`` ([clientX, clientY]; default: the
// middle of the part of the photograph in view) where it is.
function setZoom(scale, anchor = null) {
  if (!state.size) return;
  const img = $("photo"), view = $("viewport");
  const [w, h] = state.size;
  const before = img.getBoundingClientRect();
  const box = view.getBoundingClientRect();
  const middle = (lo, hi, from, to) => (Math.max(lo, from) + Math.min(hi, to)) / 2;
  const [ax, ay] = anchor || [
    middle(box.left, box.left + view.clientWidth, before.left, before.right),
    middle(box.top, box.top + view.clientHeight, before.top, before.bottom)];
  const px = (ax - before.left) / before.width, py = (ay - before.top) / before.height;
  const fit = fitScale();
  state.zoom = scale === null || scale <= fit * 1.001 ? null : Math.min(scale, Math.max(MAX_ZOOM, fit));
  view.classList.toggle("zoomed", state.zoom !== null);
  img.style.width = state.zoom === null ? "" : `${w * state.zoom}px`;
  const after = img.getBoundingClientRect();
  view.scrollLeft += after.left + px * after.width - ax;
  view.scrollTop += after.top + py * after.height - ay;
  updateButtons();
}

$("zoom-in").addEventListener("click", () => setZoom(displayScale() * ZOOM_STEP));
$("zoom-out").addEventListener("click", () => setZoom(displayScale() / ZOOM_STEP));
$("zoom-fit").addEventListener("click", () => setZoom(null));
$("viewport").addEventListener("wheel", (e) => {
  if (!(e.ctrlKey || e.metaKey) || !state.size) return;  // plain wheel: scroll
  e.preventDefault();  // not the browser's page zoom
  setZoom(displayScale() * Math.pow(1.25, -Math.sign(e.deltaY)), [e.clientX, e.clientY]);
}, { passive: false });

// Brushing and panning ------------------------------------------------------

function setEraser(on) {
  state.erase = on;
  $("paint-mode").setAttribute("aria-pressed", String(!on));
  $("erase-mode").setAttribute("aria-pressed", String(on));
  $("strokes").classList.toggle("erase", on);
}
$("paint-mode").addEventListener("click", () => setEraser(false));
$("erase-mode").addEventListener("click", () => setEraser(true));

const typing = (target) => target.matches && target.matches("input[type=number], input[type=text], textarea");
let spaceHeld = false;

document.addEventListener("keydown", (e) => {
  if ((e.ctrlKey || e.metaKey) && !e.shiftKey && !e.altKey && e.key.toLowerCase() === "z") {
    if (typing(e.target)) return;  // the field's own undo
    e.preventDefault();
    undo();
  } else if (e.key === " " && !typing(e.target) && !e.target.matches("button, select, a")) {
    e.preventDefault();  // not a page scroll
    spaceHeld = true;
    $("strokes").classList.add("pan");
  }
});
document.addEventListener("keyup", (e) => {
  if (e.key === " ") { spaceHeld = false; $("strokes").classList.remove("pan"); }
});

// Strokes are drawn opaque on a transparent canvas; the opaque pixels are the
// hole. Their points are kept in photo pixels, for undo and sending.
(() => {
  const canvas = $("strokes");
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  let op = null, pan = null;
  const point = (e) => {
    const r = canvas.getBoundingClientRect();
    return [(e.clientX - r.left) * state.size[0] / r.width,
            (e.clientY - r.top) * state.size[1] / r.height];
  };
  canvas.addEventListener("pointerdown", (e) => {
    if (!state.size) return;
    canvas.setPointerCapture(e.pointerId);
    if (e.button === 1 || spaceHeld) {  // pan the zoomed photograph
      e.preventDefault();
      const view = $("viewport");
      pan = [e.clientX, e.clientY, view.scrollLeft, view.scrollTop];
      return;
    }
    if (e.button !== 0) return;
    // The brush's width is in display pixels, so it looks the same at any zoom.
    const width = Number($("brush").value) * state.size[0] / canvas.getBoundingClientRect().width;
    op = { erase: state.erase, width, points: [point(e)] };
    state.stroking = true;
    pushOp(op);
    ctx.setTransform(canvas.width / state.size[0], 0, 0, canvas.height / state.size[1], 0, 0);
    drawOp(ctx, op);
    updateButtons();
  });
  canvas.addEventListener("pointermove", (e) => {
    if (pan) {
      const view = $("viewport");
      view.scrollLeft = pan[2] - (e.clientX - pan[0]);
      view.scrollTop = pan[3] - (e.clientY - pan[1]);
      return;
    }
    if (!op) return;
    op.points.push(point(e));
    ctx.setTransform(canvas.width / state.size[0], 0, 0, canvas.height / state.size[1], 0, 0);
    drawOp(ctx, op, op.points.length - 1);
  });
  const end = () => {
    if (op) strokesChanged();
    op = null;
    pan = null;
    state.stroking = false;
  };
  canvas.addEventListener("mousedown", (e) => { if (e.button === 1) e.preventDefault(); });  // no autoscroll
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  $("clear").addEventListener("click", () => {
    pushOp({ clear: true });
    renderOps(canvas);
    strokesChanged();
  });
  $("undo").addEventListener("click", undo);
})();

// The photograph ------------------------------------------------------------

// Shows ``state.url`` in the editor with ``state.ops`` on it; resolves once shown.
function showPhoto(keepZoom) {
  const img = $("photo");
  return new Promise((resolve, reject) => {
    img.onerror = () => reject(new Error(`This browser cannot show ${state.photoName}; ` +
        "use python -m pconvgan.inpaint_photos for it."));
    img.onload = () => {
      const w = img.naturalWidth, h = img.naturalHeight;
      const sameSize = state.size && state.size[0] === w && state.size[1] === h;
      state.size = [w, h];
      const scale = Math.min(1, MAX_STROKE_SIDE / Math.max(w, h));
      const canvas = $("strokes");
      canvas.width = Math.max(1, Math.round(w * scale));
      canvas.height = Math.max(1, Math.round(h * scale));
      $("editor").classList.remove("hidden");
      setZoom(keepZoom && sameSize ? state.zoom : null);
      renderOps(canvas);
      state.painted = anyPainted();
      showMask();
      updateButtons();
      resolve();
    };
    img.src = state.url;
  });
}

function showMask() {
  $("mask-view").classList.toggle("hidden", !state.mask);
  if (state.maskUrl) $("mask-view").src = state.maskUrl;
}

$("photo-file").addEventListener("change", async (event) => {
  const file = event.target.files[0];
  if (!file) return;
  for (const step of state.history) if (step.url) URL.revokeObjectURL(step.url);
  if (state.url) URL.revokeObjectURL(state.url);
  Object.assign(state, { photo: await readAsDataURL(file), photoName: file.name,
                         url: URL.createObjectURL(file), ops: [], history: [], job: null });
  showResult(null);
  try {
    await showPhoto(false);
    setStatus(`${file.name}: ${state.size[0]}x${state.size[1]}. Brush over what to remove, or upload a mask.`);
  } catch (error) {
    setStatus(error.message, true);
  }
});

$("mask-file").addEventListener("change", async (event) => {
  const file = event.target.files[0];
  state.mask = file ? await readAsDataURL(file) : null;
  state.maskUrl = file ? URL.createObjectURL(file) : null;
  showMask();
  updateButtons();
});

// A second pass: the result becomes the photograph (Undo goes back).
$("use-result").addEventListener("click", async () => {
  const job = state.job;
  if (!job || state.busy) return;
  try {
    const response = await fetch(job.resultUrl);
    if (!response.ok) throw new Error((await response.json()).error);
    const blob = await response.blob();
    const url = URL.createObjectURL(blob);
    // Undo shows this result again, from here rather than from the server.
    const previous = { photo: state.photo, url: state.url, mask: state.mask,
                       maskUrl: state.maskUrl, ops: state.ops, job: { ...job, resultUrl: url } };
    Object.assign(state, { photo: await readAsDataURL(blob), url, mask: null, maskUrl: null,
                           ops: [], job: null });
    state.history.push(previous);
    $("mask-file").value = "";
    showResult(null);
    await showPhoto(true);
    setStatus("The result is now the photograph: brush over more to remove and " +
              "press Inpaint, or Undo to go back.");
  } catch (error) {
    setStatus(`Error: ${error.message}`, true);
  }
});

async function restorePhoto(previous) {
  const { job, ...photo } = previous;
  Object.assign(state, photo);
  state.job = job;
  showResult(job);
  await showPhoto(true);
  setStatus("Undone: back to the photograph before the last pass.");
}

// Inpainting ----------------------------------------------------------------

// Shows ``job``'s result beside the photograph (null: hides it).
function showResult(job) {
  state.job = job;
  for (const id of ["compare", "download", "use-result"]) $(id).classList.toggle("hidden", !job);
  if (!job) return;
  $("before").src = state.url;
  $("after").src = job.resultUrl;
  $("summary").textContent = job.summary;
  const link = $("download");
  link.href = job.resultUrl;
  link.download = job.filename;
  link.textContent = `Download ${job.filename}`;
}

// A number field's value for the request: its number, or null when empty
// (the server's default); the server checks the rest.
function numberField(id, label) {
  const input = $(id);
  if (input.validity.badInput) throw new Error(`${label}: not a number`);
  return input.value === "" ? null : Number(input.value);
}

async function poll(id) {
  const progress = $("progress");
  for (;;) {
    const response = await fetch(`api/jobs/${id}`);
    const job = await response.json();
    if (!response.ok) throw new Error(job.error);
    if (job.state === "failed") throw new Error(job.error);
    if (job.total) { progress.max = job.total; progress.value = job.done; }
    if (job.state === "done") return job;
    setStatus(job.total ? `${job.stage}: step ${job.done} of ${job.total}` : `${job.stage}...`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

$("inpaint").addEventListener("click", async () => {
  state.busy = true;
  updateButtons();
  const photo = state.photo;
  $("download").classList.add("hidden");
  $("use-result").classList.add("hidden");
  $("progress").classList.remove("hidden");
  $("progress").removeAttribute("value");
  setStatus("sending the photograph...");
  try {
    const body = { image: state.photo, name: state.photoName, mask: state.mask,
                   strokes: state.painted ? strokesDataURL() : null,
                   ensemble: Number($("ensemble").value),
                   max_side: numberField("max-side", "Max side"),
                   dilate: numberField("grow", "Grow hole") };
    const response = await fetch("api/jobs", { method: "POST", body: JSON.stringify(body),
                                               headers: { "Content-Type": "application/json" } });
    const submitted = await response.json();
    if (!response.ok) throw new Error(submitted.error);
    const job = await poll(submitted.id);
    if (state.photo !== photo) return;  // another photograph was chosen meanwhile
    showResult({ id: job.id, filename: job.filename, summary: job.summary,
                 resultUrl: `api/jobs/${job.id}/result` });
    setStatus(`Done: ${job.summary}. Drag the slider to compare.`);
  } catch (error) {
    if (state.job) showResult(state.job);
    setStatus(`Error: ${error.message}`, true);
  } finally {
    state.busy = false;
    $("progress").classList.add("hidden");
    updateButtons();
  }
});

$("split").addEventListener("input", (e) => {
  $("before").style.clipPath = `inset(0 ${100 - e.target.value}% 0 0)`;
});
$("before").style.clipPath = "inset(0 50% 0 0)";
window.addEventListener("resize", () => { if (state.size && state.zoom === null) updateButtons(); });

fetch("api/model").then((r) => r.json()).then((m) => { $("model").textContent = `model: ${m.name}`; })
  .catch(() => {});
