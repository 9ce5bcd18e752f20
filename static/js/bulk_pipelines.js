// The selection bar's "Run pipeline": the chosen pipeline decides where the selection goes.
const select = document.querySelector("[data-pipeline-select]");
const button = document.querySelector("[data-run-pipeline]");
select?.addEventListener("change", () => button.setAttribute("formaction", select.value));
