// The picture grid: infinite scroll (keyset cursor) and selection — click, shift-click
// ranges, select all loaded cards, or "all N matching this search" (the server then
// resolves the ids itself from the search, so unloaded pictures are included).
import { wireConfirmations } from "./common.js";

const grid = document.getElementById("grid");
const bulk = document.getElementById("bulk-form");
const selectAll = document.querySelector("[data-select-all]");
const allMatching = bulk?.querySelector("[data-all-matching]");
let loading = false;
let lastChecked = null;
let matchingCount = null;

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

function boxes() { return grid ? [...grid.querySelectorAll('input[name="ids"]')] : []; }

function everything() { return bulk?.querySelector("[data-all]"); }

function updateBulk() {
  if (!bulk) return;
  const count = boxes().filter((box) => box.checked).length;
  const all = everything().value === "1";
  bulk.hidden = count === 0 && !all;
  bulk.querySelector("[data-count]").textContent =
    all ? `${matchingCount} matching selected` : `${count} selected`;
  grid?.classList.toggle("selecting", count > 0 || all);
  if (selectAll) selectAll.hidden = boxes().length === 0;
  const compare = bulk.querySelector("[data-compare]");
  const picked = boxes().filter((box) => box.checked).map((box) => box.value);
  if (compare) {
    compare.hidden = all || picked.length !== 2;
    if (picked.length === 2) compare.href = `${compare.dataset.base}?a=${picked[0]}&b=${picked[1]}`;
  }
}

function setAll(on) { everything().value = on ? "1" : ""; }

function check(box, checked, shift) {
  if (shift && lastChecked) {
    const all = boxes();
    const [a, b] = [all.indexOf(lastChecked), all.indexOf(box)].sort((x, y) => x - y);
    all.slice(a, b + 1).forEach((item) => { item.checked = checked; });
  } else {
    box.checked = checked;
  }
  lastChecked = box;
  setAll(false);
  if (allMatching) allMatching.hidden = true;
  updateBulk();
}

grid?.addEventListener("click", (event) => {
  const box = event.target.closest('input[name="ids"]');
  if (box) {
    check(box, box.checked, event.shiftKey);
    return;
  }
  // While selecting, a click on one of your cards selects it instead of opening it.
  const card = event.target.closest(".card");
  const cardBox = card?.querySelector('input[name="ids"]');
  if (cardBox && grid.classList.contains("selecting")) {
    event.preventDefault();
    check(cardBox, !cardBox.checked, event.shiftKey);
  }
});

async function offerAllMatching() {
  if (!allMatching || !bulk.dataset.matching || !grid.querySelector("[data-more]")) return;
  const response = await fetch(bulk.dataset.matching, { headers: { Accept: "application/json" } });
  if (!response.ok) return;
  const { count, capped } = await response.json();
  matchingCount = capped ? `The first ${count}` : `All ${count}`;
  allMatching.textContent = `Select all ${capped ? `${count}+` : count} matching this search`;
  allMatching.hidden = false;
}

selectAll?.addEventListener("click", () => {
  boxes().forEach((box) => { box.checked = true; });
  updateBulk();
  offerAllMatching();
});

allMatching?.addEventListener("click", () => {
  setAll(true);
  allMatching.hidden = true;
  updateBulk();
});

document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && bulk && !bulk.hidden) {
    boxes().forEach((box) => { box.checked = false; });
    setAll(false);
    if (allMatching) allMatching.hidden = true;
    updateBulk();
  }
});

wireConfirmations();
watchMore();
updateBulk();
