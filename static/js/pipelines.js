// The pipelines page: a tool button appends a step (with default settings) to the
// steps JSON; delete buttons ask first.
import { wireConfirmations } from "./common.js";

const steps = document.getElementById("pipeline-steps");
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-add-step]");
  if (!button || !steps) return;
  let list = [];
  try { list = JSON.parse(steps.value || "[]"); } catch { list = []; }
  list.push({ tool: button.dataset.addStep, settings: {} });
  steps.value = JSON.stringify(list, null, 1);
});
wireConfirmations();
