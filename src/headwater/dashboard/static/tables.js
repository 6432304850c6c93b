// The streams table and the selected stream's consumers table.

import { el, millis, rate, bytes } from "./format.js";

/** One row per stream, named by its data-stream attribute (the page selects by it). */
export function renderStreams(tbody, streams, rates, selected) {
  tbody.replaceChildren(...streams.map((s) => {
    const r = rates[s.name]?.rates ?? [];
    const throttled = (r[4] ?? 0) + (r[5] ?? 0);
    return el("tr", { class: s.name === selected ? "selected" : null, "data-stream": s.name },
      el("td", { class: "stream-name", text: s.name }),
      el("td", {}, el("span", { class: `badge ${s.status}`, text: s.status })),
      el("td", { text: s.mode === "ON_DEMAND" ? "on-demand" : "provisioned" }),
      el("td", { class: "num", text: String(s.open_shards) }),
      el("td", { class: "num", "data-field": "in_records", text: rate(r[0] ?? 0) }),
      el("td", { class: "num", text: bytes(r[1] ?? 0) }),
      el("td", { class: "num", text: rate(r[2] ?? 0) }),
      el("td", { class: throttled > 0 ? "num hot" : "num", text: rate(throttled) }),
      el("td", { class: "num", text: String(s.consumers.length) }));
  }));
}

/** Enhanced fan-out consumers with MillisBehindLatest, consumer applications' lag from their
 * checkpoints (when the server watches their lease stores), and GetRecords readers' iterator age. */
export function renderConsumers(tbody, stream, lag) {
  const behind = lag?.consumers_behind_ms ?? {};
  const applications = lag?.applications_behind_ms ?? {};
  const values = [...Object.values(behind), ...Object.values(applications), lag?.iterator_age_ms ?? 0];
  const scale = Math.max(1000, ...values);
  const bar = (ms) => el("span", { class: "lag-bar", style: `width:${Math.max(2, (80 * ms) / scale)}px` });
  const behindCell = (ms) => el("td", { class: "num" }, ...(ms == null ? ["–"] : [bar(ms), millis(ms)]));
  const rows = stream.consumers.map((c) => el("tr", { "data-consumer": c.name },
    el("td", { text: c.name }),
    el("td", {}, el("span", { class: `badge ${c.status}`, text: c.status })),
    behindCell(behind[c.name])));
  for (const [name, ms] of Object.entries(applications)) {
    rows.push(el("tr", { "data-application": name },
      el("td", { text: name }),
      el("td", {}, el("span", { class: "badge", text: "checkpoints" })),
      behindCell(ms)));
  }
  rows.push(el("tr", {},
    el("td", { text: "GetRecords readers" }),
    el("td", {}, el("span", { class: "badge", text: "polling" })),
    behindCell(lag?.iterator_age_ms)));
  tbody.replaceChildren(...rows);
}
