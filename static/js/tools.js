// A tool's page: turn the generated form into settings JSON, run the tool through the
// API (202 + job id), follow the job live over Socket.IO and show its outputs; cheap
// tools also get a live preview of a small copy, debounced as the settings change.
import { csrfToken } from "./common.js";
import { onJob, onConnect } from "./live.js";

const page = document.getElementById("tool");
const form = document.getElementById("tool-form");
const errorBox = document.getElementById("tool-error");
const result = document.getElementById("tool-result");
const progress = document.getElementById("tool-progress");
const message = document.getElementById("tool-message");
const outputs = document.getElementById("tool-outputs");
const dataBox = document.getElementById("tool-data");
let currentJob = null;

function settings() {
  const values = {};
  for (const input of form.querySelectorAll("[data-kind]")) {
    const kind = input.dataset.kind;
    if (kind === "checkbox") { values[input.name] = input.checked; continue; }
    const raw = input.value.trim();
    if (raw === "") continue;
    if (kind === "number") values[input.name] = Number(raw);
    else if (kind === "json") {
      try { values[input.name] = JSON.parse(raw); } catch { values[input.name] = raw; }
    } else values[input.name] = raw;
  }
  return values;
}

function body(extraSettings = {}) {
  const data = new FormData();
  const picture = form.querySelector('input[name="image_id"]');
  if (picture) data.append("image_id", picture.value);
  for (const file of form.querySelector("#tool-file")?.files ?? []) data.append("file", file);
  for (const input of form.querySelectorAll("input[data-extra]")) {
    if (input.files[0]) data.append(input.name, input.files[0]);
  }
  data.append("settings", JSON.stringify({ ...settings(), ...extraSettings }));
  const save = form.querySelector('input[name="save"]:checked');
  if (save) data.append("save", save.value);
  return data;
}

function showErrors(reply) {
  form.querySelectorAll("[data-error-for]").forEach((node) => { node.hidden = true; });
  const fields = reply.fields ?? [];
  for (const field of fields) {
    const node = form.querySelector(`[data-error-for="${CSS.escape(field.field)}"]`);
    if (node) { node.textContent = field.message; node.hidden = false; }
  }
  const listed = fields.map((f) => `${f.field}: ${f.message}`).join("; ");
  errorBox.textContent = listed ? `${reply.error} — ${listed}` : reply.error;
  errorBox.hidden = false;
}

async function post(url, data) {
  return fetch(url, { method: "POST", body: data, headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" } });
}

async function run(event) {
  event.preventDefault();
  errorBox.hidden = true;
  const response = await post(page.dataset.runUrl, body());
  const reply = await response.json();
  if (response.status !== 202) { showErrors(reply); return; }
  currentJob = reply.job_id;
  result.hidden = false;
  outputs.replaceChildren();
  dataBox.hidden = true;
  progress.value = 0;
  message.textContent = "Queued…";
  refresh();
}

function link(href, text, download = false) {
  const a = document.createElement("a");
  a.href = href;
  a.textContent = text;
  if (download) a.setAttribute("download", "");
  return a;
}

function showOutputs(run) {
  outputs.replaceChildren();
  for (const output of run.result?.outputs ?? []) {
    const item = document.createElement("li");
    item.dataset.output = output.name;
    item.append(link(output.download_url, `Download ${output.name}`, true));
    if (output.image_id) {
      item.append(" · ", link(`/images/${output.image_id}`, "saved as a new version"));
      item.dataset.imageId = output.image_id;
    }
    outputs.append(item);
  }
  if (run.result && Object.keys(run.result.data ?? {}).length) {
    dataBox.textContent = JSON.stringify(run.result.data, null, 2);
    dataBox.hidden = false;
  }
}

async function refresh() {
  if (!currentJob) return;
  const response = await fetch(`/api/v1/tools/runs/${currentJob}`, { headers: { Accept: "application/json" } });
  if (!response.ok) return;
  const run = await response.json();
  progress.value = run.progress;
  message.textContent = run.state === "failed" ? `Failed: ${run.error}` : `${run.state} ${run.message ?? ""}`;
  result.dataset.state = run.state;
  if (run.state === "succeeded") { progress.value = 1; showOutputs(run); }
}

onJob((job) => {
  if (job.id !== currentJob) return;
  progress.value = job.progress ?? progress.value;
  if (job.message) message.textContent = job.message;
  if (["succeeded", "failed", "cancelled"].includes(job.state)) refresh();
});
onConnect(refresh);  // catch up on anything missed while disconnected
// Without live updates (or if an event was missed) look again every few seconds.
setInterval(() => { if (currentJob && !["succeeded", "failed"].includes(result.dataset.state)) refresh(); }, 3000);

// -- live preview (cheap tools) -----------------------------------------------------
const preview = document.getElementById("tool-preview");
const previewImage = document.getElementById("tool-preview-image");
let timer = null;
let previewUrl = null;

async function updatePreview() {
  const hasInput = form.querySelector('input[name="image_id"]') || form.querySelector("#tool-file")?.files.length;
  if (!hasInput) return;
  const response = await post(page.dataset.previewUrl, body());
  if (!response.ok) { preview.hidden = true; return; }
  if (previewUrl) URL.revokeObjectURL(previewUrl);
  previewUrl = URL.createObjectURL(await response.blob());
  previewImage.src = previewUrl;
  preview.hidden = false;
}

if (page.dataset.cheap === "1") {
  const schedule = () => { clearTimeout(timer); timer = setTimeout(updatePreview, 400); };
  form.addEventListener("input", schedule);
  form.addEventListener("change", schedule);
  schedule();
}

form.addEventListener("submit", run);
