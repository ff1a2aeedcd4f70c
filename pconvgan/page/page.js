// The pconvgan page: upload, brush, inpaint, compare, download.
// Talks only to the server that served it (see pconvgan/app.py).
"use strict";

const MAX_STROKE_SIDE = 2048;  // brush canvas resolution; scaled to the photo by the server
const $ = (id) => document.getElementById(id);
const state = { photo: null, photoName: null, mask: null, drawn: false, url: null };

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
  $("inpaint").disabled = !state.photo || !(state.drawn || state.mask);
  $("clear").disabled = !state.drawn;
}

$("photo-file").addEventListener("change", async (event) => {
  const file = event.target.files[0];
  if (!file) return;
  state.photo = await readAsDataURL(file);
  state.photoName = file.name;
  if (state.url) URL.revokeObjectURL(state.url);
  state.url = URL.createObjectURL(file);
  const img = $("photo");
  img.onerror = () => setStatus(`This browser cannot show ${file.name}; ` +
      "use python -m pconvgan.inpaint_photos for it.", true);
  img.onload = () => {
    const w = img.naturalWidth, h = img.naturalHeight;
    const scale = Math.min(1, MAX_STROKE_SIDE / Math.max(w, h));
    const canvas = $("strokes");
    canvas.width = Math.max(1, Math.round(w * scale));
    canvas.height = Math.max(1, Math.round(h * scale));
    state.drawn = false;
    $("editor").classList.remove("hidden");
    $("compare").classList.add("hidden");
    $("download").classList.add("hidden");
    updateButtons();
    setStatus(`${file.name}: ${w}x${h}. Brush over what to remove, or upload a mask.`);
  };
  img.src = state.url;
});

$("mask-file").addEventListener("change", async (event) => {
  const file = event.target.files[0];
  if (!file) { state.mask = null; $("mask-view").classList.add("hidden"); updateButtons(); return; }
  state.mask = await readAsDataURL(file);
  $("mask-view").src = URL.createObjectURL(file);
  $("mask-view").classList.remove("hidden");
  updateButtons();
});

// Brushing: strokes are drawn opaque on a transparent canvas; the opaque
// pixels are the hole.
(() => {
  const canvas = $("strokes");
  const ctx = canvas.getContext("2d");
  let last = null;
  const point = (e) => {
    const r = canvas.getBoundingClientRect();
    return [(e.clientX - r.left) * canvas.width / r.width,
            (e.clientY - r.top) * canvas.height / r.height];
  };
  const draw = (from, to) => {
    const r = canvas.getBoundingClientRect();
    ctx.strokeStyle = "rgb(255, 40, 40)";
    ctx.fillStyle = "rgb(255, 40, 40)";
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.lineWidth = Number($("brush").value) * canvas.width / r.width;
    ctx.beginPath();
    ctx.moveTo(from[0], from[1]);
    ctx.lineTo(to[0], to[1]);
    ctx.stroke();
    state.drawn = true;
  };
  canvas.addEventListener("pointerdown", (e) => {
    canvas.setPointerCapture(e.pointerId);
    last = point(e);
    draw(last, last);
    updateButtons();
  });
  canvas.addEventListener("pointermove", (e) => {
    if (!last) return;
    const p = point(e);
    draw(last, p);
    last = p;
  });
  const end = () => { last = null; updateButtons(); };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  $("clear").addEventListener("click", () => {
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    state.drawn = false;
    updateButtons();
  });
})();

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
  $("inpaint").disabled = true;
  $("download").classList.add("hidden");
  $("progress").classList.remove("hidden");
  $("progress").removeAttribute("value");
  setStatus("sending the photograph...");
  try {
    const body = { image: state.photo, name: state.photoName, mask: state.mask,
                   strokes: state.drawn ? $("strokes").toDataURL("image/png") : null };
    const response = await fetch("api/jobs", { method: "POST", body: JSON.stringify(body),
                                               headers: { "Content-Type": "application/json" } });
    const submitted = await response.json();
    if (!response.ok) throw new Error(submitted.error);
    const job = await poll(submitted.id);
    const resultUrl = `api/jobs/${job.id}/result`;
    $("before").src = state.url;
    $("after").src = resultUrl;
    $("compare").classList.remove("hidden");
    $("summary").textContent = job.summary;
    const link = $("download");
    link.href = resultUrl;
    link.download = job.filename;
    link.textContent = `Download ${job.filename}`;
    link.classList.remove("hidden");
    setStatus(`Done: ${job.summary}. Drag the slider to compare.`);
  } catch (error) {
    setStatus(`Error: ${error.message}`, true);
  } finally {
    $("progress").classList.add("hidden");
    updateButtons();
  }
});

$("split").addEventListener("input", (e) => {
  $("before").style.clipPath = `inset(0 ${100 - e.target.value}% 0 0)`;
});
$("before").style.clipPath = "inset(0 50% 0 0)";

fetch("api/model").then((r) => r.json()).then((m) => { $("model").textContent = `model: ${m.name}`; })
  .catch(() => {});
