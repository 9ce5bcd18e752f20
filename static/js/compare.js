// The compare page: switch between side by side and a slider that wipes A over B.
// Without JavaScript the page shows the two pictures side by side; everything here
// is an enhancement. The controls are a radio group and a range input, so they work
// with the keyboard as they are; M switches the view from anywhere on the page.

const section = document.getElementById("compare");
const modes = document.getElementById("compare-mode");
const side = document.getElementById("compare-side");
const slider = document.getElementById("compare-slider");
const stack = document.getElementById("compare-stack");
const split = document.getElementById("compare-split");

function setMode(mode) {
  section.dataset.mode = mode;
  side.hidden = mode !== "side";
  slider.hidden = mode !== "slider";
  for (const radio of modes.querySelectorAll("input[name=mode]")) radio.checked = radio.value === mode;
}

function setSplit(value) {
  stack.style.setProperty("--split", `${value}%`);
  split.setAttribute("aria-valuetext", `${value}% A`);
}

function splitFromPointer(event) {
  const box = stack.getBoundingClientRect();
  const value = Math.round(((event.clientX - box.left) / box.width) * 100);
  split.value = String(Math.min(100, Math.max(0, value)));
  setSplit(split.value);
}

if (section && modes && stack && split) {
  modes.hidden = false;
  modes.addEventListener("change", (event) => setMode(event.target.value));
  split.addEventListener("input", () => setSplit(split.value));
  stack.addEventListener("pointerdown", (event) => {
    stack.setPointerCapture(event.pointerId);
    splitFromPointer(event);
  });
  stack.addEventListener("pointermove", (event) => {
    if (stack.hasPointerCapture(event.pointerId)) splitFromPointer(event);
  });
  document.addEventListener("keydown", (event) => {
    if (event.target.closest("input[type=text], input[type=search], textarea, select")) return;
    if (event.altKey || event.ctrlKey || event.metaKey || event.key.toLowerCase() !== "m") return;
    setMode(section.dataset.mode === "side" ? "slider" : "side");
    if (section.dataset.mode === "slider") split.focus();
  });
  setSplit(split.value);
}
