// The shard map: each shard's hash-key range across, its generation down (parents above
// children), lines from parents to the children a split or merge made.

import { shardIndex } from "./format.js";

const SVG = "http://www.w3.org/2000/svg";
const ROW = 30;
const GAP = 26;
const TOP = 22;
const SIDE = 8;

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  if (text != null) node.textContent = text;
  return node;
}

/** Generation of each shard: one below its deepest parent still listed. */
function depths(shards) {
  const byId = new Map(shards.map((s) => [s.id, s]));
  const depth = new Map();
  const of = (shard) => {
    if (!depth.has(shard.id)) {
      const parents = [shard.parent, shard.adjacent_parent].map((id) => byId.get(id)).filter(Boolean);
      depth.set(shard.id, parents.length ? Math.max(...parents.map(of)) + 1 : 0);
    }
    return depth.get(shard.id);
  };
  shards.forEach(of);
  return depth;
}

export function renderShardMap(container, shards) {
  const width = Math.max(container.clientWidth, 320);
  const depth = depths(shards);
  const rows = Math.max(0, ...depth.values()) + 1;
  const height = TOP + rows * (ROW + GAP) - GAP + 4;
  const x = (fraction) => SIDE + fraction * (width - 2 * SIDE);
  const y = (shard) => TOP + depth.get(shard.id) * (ROW + GAP);
  const root = svg("svg", { width, height, role: "img", "aria-label": "shard map" });

  const axis = svg("g", { class: "axis" });
  [0, 0.25, 0.5, 0.75, 1].forEach((f) => {
    axis.append(svg("line", { x1: x(f), x2: x(f), y1: 14, y2: height }));
    const anchor = f === 0 ? "start" : f === 1 ? "end" : "middle";
    axis.append(svg("text", { x: x(f), y: 10, "text-anchor": anchor }, f === 0 ? "hash key 0" : f === 1 ? "2¹²⁸" : `${f * 100}%`));
  });
  root.append(axis);

  const byId = new Map(shards.map((s) => [s.id, s]));
  for (const child of shards) {
    for (const parent of [child.parent, child.adjacent_parent].map((id) => byId.get(id)).filter(Boolean)) {
      const mid = x((Math.max(parent.from, child.from) + Math.min(parent.to, child.to)) / 2);
      root.append(svg("path", { class: "lineage", d: `M${mid},${y(parent) + ROW} L${mid},${y(child)}` }));
    }
  }

  for (const shard of shards) {
    const left = x(shard.from) + 1.5;
    const w = Math.max(x(shard.to) - x(shard.from) - 3, 2);
    const group = svg("g", {
      class: `shard ${shard.open ? "open" : "closed"}`,
      "data-shard-id": shard.id,
      "data-open": String(shard.open),
    });
    group.append(svg("rect", { x: left, y: y(shard), width: w, height: ROW, rx: 5 }));
    if (w > 34) {
      const label = w > 150 ? `${shard.id}${shard.open ? "" : " (closed)"}` : `#${shardIndex(shard.id)}`;
      group.append(svg("text", { x: left + w / 2, y: y(shard) + ROW / 2 + 4, "text-anchor": "middle" }, label));
    }
    const parents = [shard.parent, shard.adjacent_parent].filter(Boolean).join(" + ") || "none";
    group.append(svg("title", {}, `${shard.id} (${shard.open ? "open" : "closed"})\nhash keys ${shard.start} – ${shard.end}\nparents: ${parents}`));
    root.append(group);
  }
  container.replaceChildren(root);
}
