// Generated tool fields (templates/components/tool_field.html): a number with both
// bounds gets a range slider kept in step with its number box. The number box stays
// the submitted field; the slider only moves it (and so fires its "input" event).
export function wireSliders(root = document) {
  for (const slider of root.querySelectorAll("input[type=range][data-slider-for]")) {
    const box = document.getElementById(slider.dataset.sliderFor);
    if (!box || slider.dataset.wired) continue;
    slider.dataset.wired = "1";
    slider.hidden = false;
    slider.addEventListener("input", () => {
      box.value = slider.value;
      box.dispatchEvent(new Event("input", { bubbles: true }));
    });
    slider.addEventListener("change", () => box.dispatchEvent(new Event("change", { bubbles: true })));
    box.addEventListener("input", () => {
      if (box.value !== "" && !Number.isNaN(Number(box.value))) slider.value = box.value;
    });
  }
}
