// The picture grid: infinite scroll (keyset cursor) and selection with shift-click ranges.
import { wireConfirmations } from "./common.js";

const grid = document.getElementById("grid");
const bulk = document.getElementById("bulk-form");
let loading = false;
let lastChecked = null;

async function loadMore(link) {
  if (loading) return;
  loading = true;
  const url = new URL(link.href, location.href);
  url.searchParams.set("partial", "1");
  const response = await fetch(url, { headers: { Accept: "text/html" } });
  if (response.ok) {
    link.remove();
    grid.insertAdjacentHTML("beforeend", await response.text());
    watchMore();
  }
  loading = false;
}

const observer = new IntersectionObserver((entries) => {
  for (const entry of entries) if (entry.isIntersecting) loadMore(entry.target);
}, { rootMargin: "800px" });

function watchMore() {
  const link = grid?.querySelector("[data-more]");
  if (link) observer.observe(link);
}

function boxes() { return [...grid.querySelectorAll('input[name="ids"]')]; }

function updateBulk() {
  if (!bulk) return;
  const count = boxes().filter((box) => box.checked).length;
  bulk.hidden = count === 0;
  bulk.querySelector("[data-count]").textContent = `${count} selected`;
  grid.classList.toggle("selecting", count > 0);
}

grid?.addEventListener("click", (event) => {
  const box = event.target.closest('input[name="ids"]');
  if (!box) return;
  if (event.shiftKey && lastChecked) {
    const all = boxes();
    const [a, b] = [all.indexOf(lastChecked), all.indexOf(box)].sort((x, y) => x - y);
    all.slice(a, b + 1).forEach((item) => { item.checked = box.checked; });
  }
  lastChecked = box;
  updateBulk();
});

document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && bulk && !bulk.hidden) {
    boxes().forEach((box) => { box.checked = false; });
    updateBulk();
  }
});

wireConfirmations();
watchMore();
