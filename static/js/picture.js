// The picture page: ←/→ step through the grid, Esc goes back, click or Z zooms.
import { wireConfirmations, wireCopyButtons } from "./common.js";

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
