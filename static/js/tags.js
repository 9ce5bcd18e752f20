// Tag editor: suggest existing tags (most used first) for the word being typed.
const input = document.getElementById("tag-input");
const list = document.getElementById("tag-suggestions");
let pending = null;

async function suggest() {
  const words = input.value.split(",");
  const prefix = words[words.length - 1].trim();
  if (prefix.length < 1) return;
  const response = await fetch(`/api/v1/tags?prefix=${encodeURIComponent(prefix)}&limit=10`);
  if (!response.ok) return;
  const { tags } = await response.json();
  const head = words.slice(0, -1).map((w) => w.trim()).filter(Boolean);
  list.replaceChildren(...tags.map((tag) => {
    const option = document.createElement("option");
    option.value = [...head, tag.name].join(", ");
    option.label = `${tag.name} (${tag.count})`;
    return option;
  }));
}

input?.addEventListener("input", () => {
  clearTimeout(pending);
  pending = setTimeout(suggest, 120);
});
