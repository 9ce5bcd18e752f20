// A tool's JSON data (info, color-palette, barcode-read ...) as something to read:
// a definition list of its fields, tables for lists of records, swatches for colours,
// and the raw JSON folded away underneath.
const HEX = /^#[0-9a-f]{6}$/i;

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

export function labelOf(key) {
  const words = String(key).replace(/_/g, " ").replace(/([a-z0-9])([A-Z])/g, "$1 $2").toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function bytes(size) {
  if (size < 1024) return `${size} bytes`;
  const units = ["KB", "MB", "GB"];
  let value = size;
  let unit = -1;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
  return `${value.toFixed(1)} ${units[unit]} (${size.toLocaleString()} bytes)`;
}

function swatch(color) {
  const item = el("li", undefined, "swatch");
  item.dataset.color = color;
  const chip = el("span", undefined, "chip");
  chip.style.background = color;
  chip.setAttribute("aria-hidden", "true");
  item.append(chip, el("code", color));
  return item;
}

function table(rows) {
  const nested = (key) => rows.some((row) => row[key] && typeof row[key] === "object");
  const all = [...new Set(rows.flatMap((row) => Object.keys(row)))];
  const keys = [...all.filter((key) => !nested(key)), ...all.filter(nested)];  // plain columns first
  const node = el("table", undefined, "data-table");
  const head = el("tr");
  head.append(...keys.map((key) => { const th = el("th", labelOf(key)); th.scope = "col"; return th; }));
  node.append(el("thead"), el("tbody"));
  node.tHead.append(head);
  for (const row of rows) {
    const tr = el("tr");
    tr.append(...keys.map((key) => { const td = el("td"); td.append(value(row[key], key)); return td; }));
    node.tBodies[0].append(tr);
  }
  return node;
}

function list(items, key) {
  if (items.length && items.every((item) => typeof item === "string" && HEX.test(item))) {
    const swatches = el("ul", undefined, "swatches");
    swatches.append(...items.map(swatch));
    return swatches;
  }
  if (items.length && items.every((item) => item && typeof item === "object" && !Array.isArray(item))) {
    return table(items);
  }
  if (!items.length) return document.createTextNode("none");
  const ul = el("ul", undefined, "data-list");
  ul.append(...items.map((item) => { const li = el("li"); li.append(value(item, key)); return li; }));
  return ul;
}

function value(data, key = "") {
  if (data === null || data === undefined) return document.createTextNode("—");
  if (typeof data === "boolean") return document.createTextNode(data ? "yes" : "no");
  if (typeof data === "number") {
    return document.createTextNode(/^(file_?size|bytes|size_?bytes)$/i.test(key) && Number.isInteger(data) ? bytes(data) : data.toLocaleString());
  }
  if (typeof data === "string") {
    if (HEX.test(data)) { const ul = el("ul", undefined, "swatches"); ul.append(swatch(data)); return ul; }
    if (data.length <= 200) return document.createTextNode(data);
    const long = el("textarea", data, "data-long");
    long.readOnly = true;
    long.setAttribute("aria-label", labelOf(key));
    return long;
  }
  if (Array.isArray(data)) return list(data, key);
  const keys = Object.keys(data);
  if (keys.length === 2 && typeof data.x === "number" && typeof data.y === "number") {
    return document.createTextNode(`(${data.x}, ${data.y})`);  // a point
  }
  return definitions(data);
}

function definitions(data) {
  const dl = el("dl", undefined, "data-fields");
  for (const [key, item] of Object.entries(data)) {
    const dt = el("dt", labelOf(key));
    const dd = el("dd");
    dd.dataset.key = key;
    dd.append(value(item, key));
    dl.append(dt, dd);
  }
  return dl;
}

export function renderData(data) {
  const raw = el("details", undefined, "data-raw");
  raw.append(el("summary", "Raw JSON"), el("pre", JSON.stringify(data, null, 2)));
  return [definitions(data), raw];
}
