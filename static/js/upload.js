// Upload page: file picker, drag-and-drop and paste; one request per file with live progress.
// After the upload each row follows its picture's analysis job over Socket.IO (live.js):
// uploaded → thumbnails → each analysis step → done, or failed/waiting with the reason.
// Events can arrive before the upload's response, or be missed while the socket
// reconnects, so the row also reads the job and the picture once from the API.
import { csrfToken } from "./common.js";
import { onConnect, onImage, onJob } from "./live.js";

const form = document.getElementById("upload-form");
const input = document.getElementById("file-input");
const list = document.getElementById("upload-list");
const visibility = document.getElementById("visibility");

const byJob = new Map();    // analysis job id → row
const byImage = new Map();  // picture id → row
const FINISHED = new Set(["succeeded", "failed", "cancelled"]);

function row(file) {
  const item = document.createElement("li");
  item.innerHTML = `<img alt=""><div><div class="name"></div><progress max="1" value="0"></progress>
    <div class="steps"></div><div class="state">waiting</div></div>`;
  item.querySelector(".name").textContent = file.name || "pasted picture";
  addStep(item, "upload", "Uploaded", "pending");
  addStep(item, "thumbnails", "Thumbnails", "pending");
  list.prepend(item);
  return item;
}

// Steps are divs with data-step-state, never li or data-state: the page's tests and
// styles address rows as "#upload-list li", and a row's data-state is its outcome.
function addStep(item, name, label, state, reason) {
  const step = document.createElement("div");
  step.dataset.step = name;
  step.innerHTML = '<span class="label"></span>: <strong></strong> <small class="reason"></small>';
  step.querySelector(".label").textContent = label;
  item.querySelector(".steps").append(step);
  setStep(item, name, state, reason);
}

function setStep(item, name, state, reason = "") {
  const step = item.querySelector(`.steps [data-step="${CSS.escape(name)}"]`);
  if (!step) return;
  step.className = `step step-${state === "running" ? "pending step-running" : state}`;
  step.dataset.stepState = state;
  step.querySelector("strong").textContent = state === "running" ? "running…" : state;
  step.querySelector(".reason").textContent = reason || "";
}

function setState(item, text, kind) {
  const state = item.querySelector(".state");
  state.textContent = text;
  state.className = `state state-${kind}`;
  item.dataset.state = kind;
}

function send(file) {
  const item = row(file);
  const data = new FormData();
  data.append("file", file, file.name || "pasted.png");
  data.append("visibility", visibility.value);
  const request = new XMLHttpRequest();
  request.open("POST", form.action);
  request.setRequestHeader("X-CSRFToken", csrfToken());
  request.setRequestHeader("Accept", "application/json");
  request.upload.onprogress = (event) => {
    if (event.lengthComputable) item.querySelector("progress").value = event.loaded / event.total;
    const sent = event.loaded === event.total;
    setStep(item, "upload", sent ? "done" : "running");
    if (sent) setStep(item, "thumbnails", "running");
    setState(item, sent ? "making thumbnails…" : "uploading…", "busy");
  };
  request.onload = () => uploaded(item, request);
  request.onerror = () => setState(item, "failed: the connection was lost", "error");
  request.send(data);
}

function uploaded(item, request) {
  let body = {};
  try { body = JSON.parse(request.responseText); } catch { body = { error: request.statusText }; }
  if (request.status >= 400) {
    setStep(item, "upload", "failed", body.error || String(request.status));
    setState(item, `failed: ${body.error || request.status}`, "error");
    return;
  }
  const image = body.images[0];
  item.querySelector("img").src = image.urls.thumb;
  item.dataset.imageId = image.id;
  item.dataset.pageUrl = image.urls.page;
  setStep(item, "upload", "done");
  setStep(item, "thumbnails", "done");
  if (image.duplicate || !image.analysis_job_id) {
    finish(item, image.duplicate ? "already in your library" : "done");
    return;
  }
  item.dataset.jobId = image.analysis_job_id;
  byJob.set(image.analysis_job_id, item);
  byImage.set(image.id, item);
  item.querySelector("progress").value = 0;
  setState(item, "queued for analysis", "busy");
  refresh(item);
}

function finish(item, text) {
  item.querySelector("progress").value = 1;
  const link = document.createElement("a");
  link.href = item.dataset.pageUrl;
  link.textContent = text;
  setState(item, "", "done");
  item.querySelector(".state").append(link);
}

// -- the analysis job, live --------------------------------------------------------------

async function getJson(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return response.json();
}

// Reads the job and the picture's steps; skipped if an event arrived meanwhile (newer).
async function refresh(item) {
  const version = item.version = (item.version || 0) + 1;
  try {
    const [job, image] = await Promise.all([
      getJson(`/api/v1/jobs/${item.dataset.jobId}`),
      getJson(`/api/v1/images/${item.dataset.imageId}`),
    ]);
    if (FINISHED.has(item.dataset.jobState)) return;  // settle() has shown the outcome
    const fresh = item.version === version;
    if (fresh || !item.querySelector(".steps [data-analysis]")) showSteps(item, image.analysis.steps);
    if (!fresh) return;
    applyJob(item, job);
  } catch (error) {
    console.warn("could not read the analysis state", error);
  }
}

function showSteps(item, steps) {
  item.querySelectorAll(".steps [data-analysis]").forEach((step) => step.remove());
  for (const step of steps) {
    addStep(item, step.name, step.label, step.state, step.reason);
    item.querySelector(`.steps [data-step="${CSS.escape(step.name)}"]`).dataset.analysis = "";
  }
}

// A progress message names the step that just ran ("<label>: done"); the next one starts.
function markProgress(item, message) {
  const steps = [...item.querySelectorAll(".steps [data-analysis]")];
  const ran = steps.find((step) => message.startsWith(`${step.querySelector(".label").textContent}:`));
  if (ran && ran.dataset.stepState !== "failed") setStep(item, ran.dataset.step, "done");
  const next = steps.find((step) => ["pending", "running"].includes(step.dataset.stepState));
  if (next) setStep(item, next.dataset.step, "running");
}

function applyJob(item, job) {
  if (FINISHED.has(item.dataset.jobState)) return;  // an outcome is final on this page
  item.dataset.jobState = job.state;
  item.querySelector("progress").value = job.progress;
  if (job.state === "running") {
    markProgress(item, job.message || "");
    setState(item, job.message ? `analysing: ${job.message}` : "analysing…", "busy");
  } else if (job.state === "queued") {
    setState(item, job.error ? `retrying: ${job.error}` : "queued for analysis", "busy");
  } else if (job.state === "blocked") {
    setState(item, `waiting: ${job.message || job.blocked_on}`, "blocked");
  } else {
    settle(item, job);
  }
}

// The job ended: read the final step list once more, then show the outcome.
async function settle(item, job) {
  try {
    const image = await getJson(`/api/v1/images/${item.dataset.imageId}`);
    showSteps(item, image.analysis.steps);
  } catch (error) {
    console.warn("could not read the final analysis", error);
  }
  if (job.state === "succeeded") finish(item, "done");
  else setState(item, `failed: ${job.state === "cancelled" ? "cancelled" : job.error}`, "error");
}

onJob((job) => {
  const item = byJob.get(job.id);
  if (!item) return;
  item.version = (item.version || 0) + 1;
  applyJob(item, job);
});

onImage(({ image_id: imageId, analysis }) => {
  const item = byImage.get(imageId);
  if (item && !FINISHED.has(item.dataset.jobState)) showSteps(item, analysis.steps);
});

// After a reconnection, re-read every row still in progress.
onConnect(() => {
  for (const item of byJob.values()) {
    if (!FINISHED.has(item.dataset.jobState)) refresh(item);
  }
});

// -- picking files -----------------------------------------------------------------------

function sendAll(files) { [...files].forEach(send); }

input.addEventListener("change", () => { sendAll(input.files); input.value = ""; });
form.addEventListener("dragover", (event) => { event.preventDefault(); form.classList.add("over"); });
form.addEventListener("dragleave", () => form.classList.remove("over"));
form.addEventListener("drop", (event) => {
  event.preventDefault();
  form.classList.remove("over");
  sendAll(event.dataTransfer.files);
});
document.addEventListener("paste", (event) => {
  const files = [...event.clipboardData.items].filter((i) => i.kind === "file").map((i) => i.getAsFile());
  if (files.length) sendAll(files);
});
form.addEventListener("submit", (event) => event.preventDefault());
