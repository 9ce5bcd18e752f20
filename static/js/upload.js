// Upload page: file picker, drag-and-drop and paste; one request per file with live progress.
import { csrfToken } from "./common.js";

const form = document.getElementById("upload-form");
const input = document.getElementById("file-input");
const list = document.getElementById("upload-list");
const visibility = document.getElementById("visibility");

function row(file) {
  const item = document.createElement("li");
  item.innerHTML = `<img alt=""><div><div class="name"></div><progress max="1" value="0"></progress>
    <div class="state">waiting</div></div>`;
  item.querySelector(".name").textContent = file.name || "pasted picture";
  list.prepend(item);
  return item;
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
    setState(item, event.loaded === event.total ? "processing…" : "uploading…", "busy");
  };
  request.onload = () => finish(item, request);
  request.onerror = () => setState(item, "failed: the connection was lost", "error");
  request.send(data);
}

function finish(item, request) {
  let body = {};
  try { body = JSON.parse(request.responseText); } catch { body = { error: request.statusText }; }
  if (request.status >= 400) {
    setState(item, `failed: ${body.error || request.status}`, "error");
    return;
  }
  const image = body.images[0];
  item.querySelector("progress").value = 1;
  item.querySelector("img").src = image.urls.thumb;
  const link = document.createElement("a");
  link.href = image.urls.page;
  link.textContent = image.duplicate ? "already in your library" : "done";
  setState(item, "", "done");
  item.querySelector(".state").append(link);
}

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
