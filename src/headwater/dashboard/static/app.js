// The dashboard page: one Server-Sent Events stream feeds every panel.
//   topology: streams, shards and consumers (sent when they change)
//   rates:    per-stream rates and lags, once a second

import { RateCharts } from "./charts.js";
import { RecordBrowser } from "./records.js";
import { renderShardMap } from "./shardmap.js";
import { renderConsumers, renderStreams } from "./tables.js";
import { el, rate } from "./format.js";

const $ = (id) => document.getElementById(id);

const state = { streams: [], rates: {}, selected: null };
const charts = new RateCharts();
const records = new RecordBrowser($("record-filters"), $("record-streams"), $("records").tBodies[0], $("record-status"));

function selectedStream() {
  return state.streams.find((s) => s.name === state.selected);
}

async function select(name) {
  if (name && name !== state.selected) records.follow(name);
  state.selected = name;
  history.replaceState(null, "", name ? `#${encodeURIComponent(name)}` : "#");
  renderAll();
  renderMap();
  if (!name) return;
  const response = await fetch(`/_dashboard/api/history?stream=${encodeURIComponent(name)}`);
  const body = await response.json();
  if (state.selected === name) charts.reset(body.fields, body.points);
}

function renderAll() {
  renderStreams($("streams").tBodies[0], state.streams, state.rates, state.selected);
  $("streams-empty").hidden = state.streams.length > 0;
  const totals = state.streams.reduce((n, s) => n + s.open_shards, 0);
  const incoming = Object.values(state.rates).reduce((n, r) => n + r.rates[0], 0);
  const count = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
  $("summary").textContent = `${count(state.streams.length, "stream")} · ${count(totals, "open shard")} · ${rate(incoming)} records/s in`;
  const stream = selectedStream();
  $("detail").hidden = !stream;
  if (!stream) return;
  $("detail-name").textContent = stream.name;
  $("detail-badges").replaceChildren(
    el("span", { class: `badge ${stream.status}`, text: stream.status }),
    el("span", { class: "badge", text: `${stream.open_shards} open / ${stream.shards.length} shards` }),
    el("span", { class: "badge", text: `retention ${stream.retention_hours} h` }),
    ...(stream.encryption === "KMS" ? [el("span", { class: "badge", text: "encrypted" })] : []));
  renderConsumers($("consumers").tBodies[0], stream, state.rates[stream.name]);
}

/** Redrawn only when shards change (or on selection and resize), not every second. */
function renderMap() {
  const stream = selectedStream();
  if (stream) renderShardMap($("shardmap"), stream.shards);
}

function onTopology(topology) {
  state.streams = topology.streams;
  records.setStreams(state.streams, state.selected);
  const names = state.streams.map((s) => s.name);
  const wanted = decodeURIComponent(location.hash.slice(1));
  if (!names.includes(state.selected)) {
    select(names.includes(wanted) ? wanted : names[0] ?? null);
  } else {
    renderAll();
    renderMap();
  }
}

function onRates(update) {
  state.rates = update.streams;
  const current = update.streams[state.selected];
  if (current) charts.push(update.fields, update.t, current.rates);
  renderAll();
  records.tick();
}

function connect() {
  const events = new EventSource("/_dashboard/api/events");
  const connection = $("connection");
  events.addEventListener("open", () => {
    connection.dataset.state = "live";
    connection.textContent = "live";
  });
  events.addEventListener("error", () => {
    connection.dataset.state = "reconnecting";
    connection.textContent = "reconnecting…";
  });
  events.addEventListener("topology", (event) => onTopology(JSON.parse(event.data)));
  events.addEventListener("rates", (event) => onRates(JSON.parse(event.data)));
}

// Rows are redrawn every second, so clicks are taken on the table body, not on a row.
$("streams").tBodies[0].addEventListener("click", (event) => {
  const row = event.target.closest("tr[data-stream]");
  if (row) select(row.dataset.stream);
});
window.addEventListener("resize", renderMap);
connect();
