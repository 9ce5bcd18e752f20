// Search box: suggest tags (most used first) for the word being typed, written as the
// query language writes them (spaces as underscores).
const input = document.querySelector('.search input[name="q"]');
const list = document.getElementById("search-suggestions");
let pending = null;

function lastWord(text) {
  const match = text.match(/(^|\s)([~-]?)([^\s:"()]*)$/);
  return match ? { head: text.slice(0, match.index + match[1].length) + match[2], word: match[3] } : null;
}

async function suggest() {
  const part = lastWord(input.value);
  if (!part || part.word.length < 2) return;
  const prefix = part.word.replaceAll("_", " ");
  const response = await fetch(`/api/v1/tags?prefix=${encodeURIComponent(prefix)}&limit=8`,
    { headers: { Accept: "application/json" } });
  if (!response.ok) return;
  const { tags } = await response.json();
  list.replaceChildren(...tags.map((tag) => {
    const option = document.createElement("option");
    option.value = part.head + tag.name.replaceAll(" ", "_");
    option.label = `${tag.name} (${tag.count})`;
    return option;
  }));
}

input?.addEventListener("input", () => {
  clearTimeout(pending);
  pending = setTimeout(suggest, 120);
});
