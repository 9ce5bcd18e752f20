// The picture page: ←/→ step through the grid, Esc goes back, click or Z zooms;
// the analysis panel follows the picture's analysis live (for logged-in viewers).
import { wireConfirmations, wireCopyButtons } from "./common.js";
import { onConnect, onImage, onJob, watchImage } from "./live.js";

const article = document.querySelector(".picture");
const stage = document.getElementById("stage");
const picture = document.getElementById("picture");

function toggleZoom() {
  if (!picture) return;
  if (!stage.classList.contains("zoomed") && picture.dataset.original) {
    picture.src = picture.dataset.original;
  }
  stage.classList.toggle("zoomed");
}

picture?.addEventListener("click", toggleZoom);
document.getElementById("zoom")?.addEventListener("click", toggleZoom);

document.addEventListener("keydown", (event) => {
  if (event.target.closest("input, textarea, select") || event.altKey || event.ctrlKey || event.metaKey) return;
  const go = (url) => { if (url) location.href = url; };
  if (event.key === "ArrowLeft") go(article.dataset.newer);
  else if (event.key === "ArrowRight") go(article.dataset.older);
  else if (event.key === "Escape") go(article.dataset.back);
  else if (event.key === "z") toggleZoom();
});

wireCopyButtons();
wireConfirmations();

// Live analysis: join this picture's room; when its analysis changes, swap in the
// server-rendered panel (the same template as the page, so no markup lives here).
let reloading = null;
let again = false;

async function reloadAnalysis() {
  if (reloading) { again = true; return; }
  const panel = document.getElementById("analysis");
  reloading = fetch(panel.dataset.src, { headers: { Accept: "text/html" } });
  try {
    const response = await reloading;
    if (!response.ok) return;
    const template = document.createElement("template");
    template.innerHTML = (await response.text()).trim();
    const fresh = template.content.querySelector("#analysis");
    if (fresh) document.getElementById("analysis").replaceWith(fresh);
  } catch (error) {
    console.warn("could not refresh the analysis", error);
  } finally {
    reloading = null;
    if (again) { again = false; reloadAnalysis(); }
  }
}

// While the owner's job runs, its progress shows next to the panel's title.
function showJob(job, imageId) {
  if (job.image_id !== imageId || job.kind !== "analyze") return;
  const label = document.querySelector("#analysis [data-analysis-state]");
  if (!label) return;
  const percent = Math.round(job.progress * 100);
  label.textContent = job.state === "running" ? `running ${percent} %` : job.state;
}

const panel = document.getElementById("analysis");
if (panel && "live" in panel.dataset) {
  const imageId = Number(panel.dataset.imageId);
  watchImage(imageId);
  onImage((data) => { if (data.image_id === imageId) reloadAnalysis(); });
  onJob((job) => showJob(job, imageId));
  // The page may have been rendered before a change we were not yet listening for.
  onConnect(() => {
    if (document.getElementById("analysis")?.dataset.state !== "done") reloadAnalysis();
  });
}
