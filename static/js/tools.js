// A tool's page: turn the generated form into settings JSON, run the tool through the
// API (202 + job id), follow the job live over Socket.IO and show its outputs (pictures,
// downloads, and data as a readable list); cheap tools also get a live preview of a
// small copy, debounced as the settings change.
import { csrfToken } from "./common.js";
import { onJob, onConnect } from "./live.js";
import { wireSliders } from "./tool_fields.js";
import { renderData } from "./tool_data.js";

const page = document.getElementById("tool");
const form = document.getElementById("tool-form");
const errorBox = document.getElementById("tool-error");
const placeholder = document.getElementById("tool-placeholder");
const result = document.getElementById("tool-result");
const progress = document.getElementById("tool-progress");
const message = document.getElementById("tool-message");
const outputs = document.getElementById("tool-outputs");
const dataBox = document.getElementById("tool-data");
const FINISHED = ["succeeded", "failed", "cancelled"];
let currentJob = null;
let revealed = null;  // the job whose finished result was scrolled into view

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

function body() {
  const data = new FormData();
  const picture = form.querySelector('input[name="image_id"]');
  if (picture) data.append("image_id", picture.value);
  for (const file of form.querySelector("#tool-file")?.files ?? []) data.append("file", file);
  for (const input of form.querySelectorAll("input[data-extra]")) {
    if (input.files[0]) data.append(input.name, input.files[0]);
  }
  data.append("settings", JSON.stringify(settings()));
  const save = form.querySelector('input[name="save"]:checked');
  if (save) data.append("save", save.value);
  return data;
}

function clearErrors() {
  errorBox.hidden = true;
  form.querySelectorAll("[data-error-for]").forEach((node) => {
    node.hidden = true;
    node.closest(".field, .field-check")?.classList.remove("invalid");
  });
}

// "width: must be at least 1"; a rule over several fields (field "settings") is its message alone.
function describeFields(fields) {
  return fields.map((f) => (f.field === "settings" ? f.message : `${f.field}: ${f.message}`)).join("; ");
}

function showErrors(reply) {
  clearErrors();
  const fields = reply.fields ?? [];
  let first = null;
  for (const field of fields) {
    const node = form.querySelector(`[data-error-for="${CSS.escape(field.field)}"]`);
    if (!node) continue;
    node.textContent = field.message;
    node.hidden = false;
    const wrapper = node.closest(".field, .field-check");
    wrapper?.classList.add("invalid");
    first ??= wrapper?.querySelector("input, select");
  }
  const listed = describeFields(fields);
  errorBox.textContent = listed ? `${reply.error} — ${listed}` : reply.error;
  errorBox.hidden = false;
  first?.focus();
}

async function post(url, data) {
  return fetch(url, { method: "POST", body: data, headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" } });
}

async function run(event) {
  event.preventDefault();
  clearErrors();
  const response = await post(page.dataset.runUrl, body());
  const reply = await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
  if (response.status !== 202) { showErrors(reply); return; }
  currentJob = reply.job_id;
  placeholder.hidden = true;
  result.hidden = false;
  delete result.dataset.state;
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

const SHOWABLE = ["image/jpeg", "image/png", "image/webp", "image/gif", "image/avif", "image/svg+xml"];

function outputItem(output) {
  const item = document.createElement("li");
  item.dataset.output = output.name;
  const line = document.createElement("p");
  line.append(link(output.download_url, `Download ${output.name}`, true));
  if (output.image_id) {
    line.append(" · ", link(`/images/${output.image_id}`, "saved as a new version"));
    item.dataset.imageId = output.image_id;
  }
  item.append(line);
  if (SHOWABLE.includes(output.mime)) {
    const img = document.createElement("img");
    img.src = output.download_url;
    img.alt = `Result: ${output.name}`;
    img.loading = "lazy";
    item.append(img);
  }
  return item;
}

function showOutputs(run) {
  outputs.replaceChildren(...(run.result?.outputs ?? []).map(outputItem));
  const data = run.result?.data ?? {};
  dataBox.hidden = !Object.keys(data).length;
  if (!dataBox.hidden) dataBox.replaceChildren(...renderData(data));
}

function reveal() {
  if (revealed === currentJob) return;
  revealed = currentJob;
  // Wide screens: the sticky side column only scrolls itself; narrow ones go to the result.
  const wide = window.matchMedia("(min-width: 900px)").matches;
  result.scrollIntoView({ behavior: "smooth", block: wide ? "nearest" : "start" });
  result.focus({ preventScroll: true });
}

function stateText(run) {
  if (run.state === "failed") return `Failed: ${run.error}`;
  if (run.state === "succeeded") return "Done.";
  if (run.state === "cancelled") return "Cancelled.";
  return `${run.state === "queued" ? "Queued" : "Running"}${run.message ? ` — ${run.message}` : "…"}`;
}

async function refresh() {
  if (!currentJob) return;
  const response = await fetch(`/api/v1/tools/runs/${currentJob}`, { headers: { Accept: "application/json" } });
  if (!response.ok) return;
  const run = await response.json();
  progress.value = run.progress;
  message.textContent = stateText(run);
  if (run.state === "succeeded") { progress.value = 1; showOutputs(run); }
  result.dataset.state = run.state;
  if (FINISHED.includes(run.state)) reveal();
}

onJob((job) => {
  if (job.id !== currentJob) return;
  progress.value = job.progress ?? progress.value;
  if (job.message) message.textContent = job.message;
  if (FINISHED.includes(job.state)) refresh();
});
onConnect(refresh);  // catch up on anything missed while disconnected
// Without live updates (or if an event was missed) look again every few seconds.
setInterval(() => { if (currentJob && !FINISHED.includes(result.dataset.state)) refresh(); }, 3000);

// -- live preview (cheap tools) -----------------------------------------------------
const preview = document.getElementById("tool-preview");
const previewImage = document.getElementById("tool-preview-image");
let timer = null;
let previewUrl = null;
let asked = 0;  // answers to older requests are dropped (a slider sends many)

async function updatePreview() {
  const hasInput = page.dataset.inputs === "0" || form.querySelector('input[name="image_id"]') || form.querySelector("#tool-file")?.files.length;
  if (!hasInput) return;
  const ticket = ++asked;
  const response = await post(page.dataset.previewUrl, body());
  if (ticket !== asked) return;
  if (!response.ok) {
    const reply = await response.json().catch(() => ({}));
    preview.hidden = true;
    if (result.hidden) {
      placeholder.hidden = false;
      const listed = describeFields(reply.fields ?? []);
      placeholder.textContent = listed ? `No preview yet: ${listed}.` : `No preview: ${reply.error ?? response.status}`;
    }
    return;
  }
  const blob = await response.blob();
  if (ticket !== asked) return;
  if (previewUrl) URL.revokeObjectURL(previewUrl);
  previewUrl = URL.createObjectURL(blob);
  previewImage.src = previewUrl;
  preview.hidden = false;
  placeholder.hidden = true;
}

if (page.dataset.cheap === "1") {
  const schedule = () => { clearTimeout(timer); timer = setTimeout(updatePreview, 300); };
  form.addEventListener("input", schedule);
  form.addEventListener("change", schedule);
  schedule();
}

wireSliders(form);
form.addEventListener("submit", run);
