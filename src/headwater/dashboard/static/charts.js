// The selected stream's rate charts (uPlot): records, bytes and throttles per second.

import uPlot from "./vendor/uPlot.esm.js";
import { bytes, clock, rate } from "./format.js";

const HISTORY_POINTS = 300;
const AXIS = { stroke: "#8393ad", grid: { stroke: "#1c2842", width: 1 }, ticks: { stroke: "#22304b" } };

// Each chart plots two of the sampler's fields (see RATE_FIELDS in sampler.py).
const CHARTS = [
  { id: "chart-records", fields: ["in_records", "out_records"], labels: ["in", "out"], format: rate },
  { id: "chart-bytes", fields: ["in_bytes", "out_bytes"], labels: ["in", "out"], format: bytes },
  {
    id: "chart-throttles", fields: ["write_throttled", "read_throttled"],
    labels: ["writes", "reads"], format: rate, colors: ["#f87171", "#f59e0b"],
  },
];
const COLORS = ["#38bdf8", "#2dd4bf"];

function options(spec, width) {
  const colors = spec.colors ?? COLORS;
  return {
    width,
    height: 160,
    legend: { show: true, live: false },
    cursor: { points: { size: 6 } },
    scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(max, 1) * 1.1] } },
    axes: [
      { ...AXIS, space: 80, values: (u, ticks) => ticks.map((t) => clock(t * 1000).slice(0, 8)) },
      { ...AXIS, size: 72, values: (u, ticks) => ticks.map(spec.format) },
    ],
    series: [
      {},
      ...spec.labels.map((label, i) => ({
        label, stroke: colors[i], width: 1.6, fill: `${colors[i]}22`,
        value: (u, v) => spec.format(v),
      })),
    ],
  };
}

export class RateCharts {
  constructor() {
    this.charts = CHARTS.map((spec) => {
      const figure = document.getElementById(spec.id);
      const plot = figure.querySelector(".plot");
      const now = document.createElement("span");
      now.className = "now";
      figure.querySelector("figcaption").append(now);
      const data = [[], ...spec.fields.map(() => [])];
      const chart = new uPlot(options(spec, plot.clientWidth || 400), data, plot);
      new ResizeObserver(() => chart.setSize({ width: plot.clientWidth, height: 160 })).observe(plot);
      return { spec, figure, now, chart, data };
    });
  }

  /** Replace every chart's points: rows are [time, ...values in `fields` order]. */
  reset(fields, rows) {
    for (const c of this.charts) {
      const columns = c.spec.fields.map((f) => fields.indexOf(f));
      c.data = [rows.map((r) => r[0]), ...columns.map((i) => rows.map((r) => r[i + 1]))];
      this.#draw(c);
    }
  }

  /** Add the newest sample (`values` in `fields` order) at time `t` (epoch seconds). */
  push(fields, t, values) {
    for (const c of this.charts) {
      c.data[0].push(t);
      c.spec.fields.forEach((f, i) => c.data[i + 1].push(values[fields.indexOf(f)]));
      if (c.data[0].length > HISTORY_POINTS) c.data.forEach((column) => column.shift());
      this.#draw(c);
    }
  }

  #draw(c) {
    c.chart.setData(c.data);
    const last = c.data[0].length - 1;
    const latest = last < 0 ? 0 : c.data[1][last] + c.data[2][last];
    c.figure.dataset.latest = String(latest);
    c.figure.dataset.points = String(last + 1);
    c.now.textContent = last < 0 ? "" : c.spec.labels.map((l, i) => `${l} ${c.spec.format(c.data[i + 1][last])}`).join(" · ");
  }
}
