// A tool or pipeline run: progress arrives live (job.progress); when the job finishes
// the page reads the run again and fills in every picture's state, error and result.
import { onJob, onConnect } from "./live.js";

const root = document.getElementById("tool-run");
const jobId = Number(root.dataset.job);
const bar = document.getElementById("run-progress");
const message = document.getElementById("run-message");
const FINISHED = ["succeeded", "failed", "cancelled"];

function cell(item) {
  const td = document.createElement("td");
  td.className = "result";
  if (item.error) {
    const span = document.createElement("span");
    span.className = "error";
    span.textContent = item.error;
    td.append(span);
  } else if (item.output_image_id) {
    const a = document.createElement("a");
    a.href = `/images/${item.output_image_id}`;
    a.textContent = "new version";
    td.append(a);
  } else if (item.output_name) {
    const a = document.createElement("a");
    a.href = `/api/v1/tools/runs/${jobId}/files/${encodeURIComponent(item.output_name)}`;
    a.download = item.output_name;
    a.textContent = item.output_name;
    td.append(a);
  }
  return td;
}

function row(item) {
  const tr = document.createElement("tr");
  tr.dataset.position = item.position;
  tr.dataset.state = item.state;
  const picture = document.createElement("td");
  if (item.image_id) {
    const a = document.createElement("a");
    a.href = `/images/${item.image_id}`;
    const img = document.createElement("img");
    img.src = `/media/${item.image_id}/thumb`;
    img.alt = `Picture ${item.image_id}`;
    img.width = img.height = 48;
    img.loading = "lazy";
    a.append(img);
    picture.append(a);
  }
  const state = document.createElement("td");
  state.className = "state";
  state.textContent = item.state;
  const number = document.createElement("td");
  number.textContent = item.position + 1;
  tr.append(number, picture, state, cell(item));
  return tr;
}

async function refresh() {
  const response = await fetch(`/api/v1/tools/runs/${jobId}`, { headers: { Accept: "application/json" } });
  if (!response.ok) return;
  const run = await response.json();
  root.dataset.state = run.state;
  bar.value = run.state === "succeeded" ? 1 : run.progress;
  const state = run.state.charAt(0).toUpperCase() + run.state.slice(1);
  message.textContent = `${state}${run.message ? `: ${run.message}` : ""}${run.error ? ` — ${run.error}` : ""}`;
  const some = run.state === "cancelled" && (run.counts?.succeeded ?? 0) > 0;
  document.getElementById("run-zip").hidden = !(run.state === "succeeded" || some);
  document.getElementById("run-cancel").hidden = FINISHED.includes(run.state);
  if (run.items) document.querySelector("#run-items tbody").replaceChildren(...run.items.map(row));
}

onJob((job) => {
  if (job.id !== jobId) return;
  if (job.progress !== undefined) bar.value = job.progress;
  if (job.message) message.textContent = job.message;
  if (FINISHED.includes(job.state)) {
    document.getElementById("run-cancel").hidden = true;
    refresh();
  }
});
onConnect(refresh);
setInterval(() => { if (!FINISHED.includes(root.dataset.state)) refresh(); }, 3000);
