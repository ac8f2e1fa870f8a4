"""The HTML page served at ``/``: drop or choose images (or type texts) and see the predictions.

One self-contained page (no external scripts, styles or fonts: it works offline). It reads ``GET /health`` to
show the model and whether it takes images or texts, and posts to ``POST /predict``.
"""

__all__ = ["PAGE"]

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>keras-transfer serve</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
 body { font-family: system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
 #drop { border: 2px dashed #888; border-radius: 8px; padding: 2rem; text-align: center; cursor: pointer; }
 #drop.over { background: #eef5ff; border-color: #36c; }
 textarea { width: 100%; min-height: 6rem; }
 .result { display: flex; gap: 1rem; align-items: flex-start; border-bottom: 1px solid #ddd; padding: .6rem 0; }
 .result img { max-width: 96px; max-height: 96px; image-rendering: pixelated; }
 .bar { background: #36c; height: .5rem; border-radius: 2px; }
 .error { color: #b00; }
 table { border-collapse: collapse; } td { padding: 0 .6rem .1rem 0; }
 .hidden { display: none; }
</style>
</head>
<body>
<h1>keras-transfer serve</h1>
<p id="model">Loading the model description…</p>
<section id="image-input" class="hidden">
 <div id="drop">Drop images here, or click to choose files
  <input id="files" type="file" accept="image/*" multiple class="hidden">
 </div>
</section>
<section id="text-input" class="hidden">
 <textarea id="texts" placeholder="One text per line"></textarea>
 <button id="classify" type="button">Classify</button>
</section>
<p id="status" role="status"></p>
<div id="results"></div>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
let limits = {max_batch: 16};

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"})[c]);
}

function show(predictions, previews) {
  const results = $("results");
  results.innerHTML = "";
  predictions.forEach((prediction, i) => {
    const row = document.createElement("div");
    row.className = "result";
    const rows = prediction.top.map((t) =>
      `<tr><td class="label">${escapeHtml(t.label)}</td><td>${(100 * t.probability).toFixed(1)}%</td>` +
      `<td><div class="bar" style="width:${Math.max(2, 160 * t.probability)}px"></div></td></tr>`).join("");
    row.innerHTML = (previews && previews[i] ? `<img alt="" src="${previews[i]}">` : "") +
      `<div><strong class="input">${escapeHtml(prediction.input)}</strong><table>${rows}</table></div>`;
    results.appendChild(row);
  });
}

async function post(body, headers) {
  $("status").textContent = "Predicting…";
  $("status").className = "";
  try {
    const response = await fetch("/predict", {method: "POST", body: body, headers: headers || {}});
    const answer = await response.json();
    if (!response.ok) { throw new Error(answer.detail || response.statusText); }
    $("status").textContent = `${answer.predictions.length} prediction(s)`;
    return answer.predictions;
  } catch (error) {
    $("status").textContent = "Error: " + error.message;
    $("status").className = "error";
    return null;
  }
}

async function sendFiles(files) {
  files = Array.from(files).slice(0, limits.max_batch);
  if (!files.length) { return; }
  const form = new FormData();
  files.forEach((file) => form.append("files", file, file.name));
  const previews = files.map((file) => URL.createObjectURL(file));
  const predictions = await post(form);
  if (predictions) { show(predictions, previews); }
}

async function sendTexts() {
  const texts = $("texts").value.split("\\n").filter((line) => line.trim()).slice(0, limits.max_batch);
  if (!texts.length) { return; }
  const predictions = await post(JSON.stringify({texts: texts}), {"Content-Type": "application/json"});
  if (predictions) {
    predictions.forEach((p, i) => { p.input = texts[i]; });
    show(predictions, null);
  }
}

async function start() {
  const health = await (await fetch("/health")).json();
  limits = health.limits;
  const model = health.model;
  $("model").textContent = `${model.path} (${model.format}, ${model.kind} input` +
    (model.input_shape ? ` ${JSON.stringify(model.input_shape)}` : "") + `, ${model.num_labels || "?"} classes)`;
  $(model.kind === "text" ? "text-input" : "image-input").classList.remove("hidden");
  document.body.dataset.ready = "true";
}

const drop = $("drop");
drop.addEventListener("click", () => $("files").click());
drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (event) => {
  event.preventDefault();
  drop.classList.remove("over");
  sendFiles(event.dataTransfer.files);
});
$("files").addEventListener("change", (event) => sendFiles(event.target.files));
$("classify").addEventListener("click", sendTexts);
start();
</script>
</body>
</html>
"""
