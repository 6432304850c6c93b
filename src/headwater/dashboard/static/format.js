// Number, size and time formatting shared by the panels.

const SI = ["", "k", "M", "G", "T"];
const BINARY = ["B", "KiB", "MiB", "GiB", "TiB"];

export function rate(value) {
  if (value == null) return "–";
  let unit = 0;
  while (Math.abs(value) >= 1000 && unit < SI.length - 1) { value /= 1000; unit += 1; }
  return `${value.toFixed(value >= 100 || Number.isInteger(value) ? 0 : 1)}${SI[unit]}`;
}

export function bytes(value) {
  if (value == null) return "–";
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < BINARY.length - 1) { value /= 1024; unit += 1; }
  return `${value.toFixed(unit === 0 || value >= 100 ? 0 : 1)} ${BINARY[unit]}`;
}

export function millis(value) {
  if (value == null) return "–";
  if (value < 1000) return `${Math.round(value)} ms`;
  if (value < 60000) return `${(value / 1000).toFixed(1)} s`;
  return `${(value / 60000).toFixed(1)} min`;
}

const pad = (n, width = 2) => String(n).padStart(width, "0");

export function clock(epochMs) {
  const d = new Date(epochMs);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

export function date(epochMs) {
  const d = new Date(epochMs);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${clock(epochMs)}`;
}

/** "shardId-000000000003" -> "3": the index is what people compare. */
export function shardIndex(shardId) {
  return String(Number(shardId.split("-").pop()));
}

/** A DOM element with attributes and children, for small renderers without a framework. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value == null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  node.append(...children);
  return node;
}
