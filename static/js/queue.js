// Admin Queue page, live: the socket is in the admins' room, so every job event arrives.
// Rows on the page follow their job's state and progress; the counts by kind are read
// again from /api/v1/queue after state changes (at most a few times a second), since
// a count cannot be derived from one event without knowing the job's previous state.
import { wireConfirmations } from "./common.js";
import { onConnect, onJob } from "./live.js";

const section = document.getElementById("queue");
const counts = document.getElementById("queue-counts");
const news = document.getElementById("queue-news");
const status = document.getElementById("queue-live");
const RETRYABLE = new Set(["failed", "cancelled"]);
const CANCELLABLE = new Set(["queued", "running", "blocked"]);
const COUNTS_DELAY_MS = 250;
let countsTimer = null;

function field(row, name) {
  return row.querySelector(`[data-field="${name}"]`);
}

function updateRow(job) {
  const row = document.querySelector(`#queue-jobs tr[data-job-id="${job.id}"]`);
  if (!row) return false;
  row.dataset.jobState = job.state;
  field(row, "state").textContent = job.state;
  field(row, "progress").value = job.progress;
  field(row, "message").textContent = job.message || "";
  field(row, "error").textContent = job.error || "";
  field(row, "error").hidden = !job.error;
  field(row, "attempts").textContent = `${job.attempts} / ${job.max_attempts}`;
  row.querySelector('[data-action="retry"]').hidden = !RETRYABLE.has(job.state);
  row.querySelector('[data-action="cancel"]').hidden = !CANCELLABLE.has(job.state);
  return true;
}

// A kind seen for the first time gets a row of counts; its controls come with a reload.
function addKindRow(kind) {
  const states = [...counts.querySelectorAll("thead th")].slice(1, -2).map((th) => th.textContent);
  const row = document.createElement("tr");
  row.dataset.kind = kind;
  row.insertCell().textContent = kind;
  for (const state of states) {
    const cell = row.insertCell();
    Object.assign(cell.dataset, { kind, countState: state });
  }
  row.insertCell();
  row.insertCell();
  counts.querySelector(".empty")?.closest("tr").remove();
  counts.tBodies[0].append(row);
}

function showCounts(table) {
  for (const [kind, byState] of Object.entries(table)) {
    if (!counts.querySelector(`tr[data-kind="${CSS.escape(kind)}"]`)) addKindRow(kind);
  }
  for (const cell of counts.querySelectorAll("td[data-count-state]")) {
    cell.textContent = table[cell.dataset.kind]?.[cell.dataset.countState] ?? 0;
  }
}

async function loadCounts() {
  countsTimer = null;
  try {
    const response = await fetch(section.dataset.countsSrc, { headers: { Accept: "application/json" } });
    if (response.ok) showCounts((await response.json()).counts);
  } catch (error) {
    console.warn("could not read the queue counts", error);
  }
}

function countsChanged() {
  countsTimer ??= setTimeout(loadCounts, COUNTS_DELAY_MS);
}

// Would this new job appear on the list as filtered now (its first page)?
function belongsHere(job) {
  const query = new URLSearchParams(location.search);
  if (query.get("before")) return false;
  return [["state", job.state], ["kind", job.kind]].every(([key, value]) => !query.get(key) || query.get(key) === value);
}

onJob((job, event) => {
  const shown = updateRow(job);
  if (event !== "job.state") return;
  countsChanged();
  if (!shown && job.state === "queued" && belongsHere(job)) news.hidden = false;
});

onConnect(() => {
  status.textContent = "live";
  status.dataset.liveState = "live";
  loadCounts();
});

wireConfirmations();
