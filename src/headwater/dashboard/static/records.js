// The record browser: records of the chosen streams, all shards merged by arrival time,
// filtered on the server (/_dashboard/api/records), refreshed on each live update.

import { clock, date, el, shardIndex } from "./format.js";

export class RecordBrowser {
  constructor(form, picks, tbody, status) {
    this.form = form;
    this.picks = picks;
    this.tbody = tbody;
    this.status = status;
    this.streams = [];
    this.loading = false;
    this.again = false;
    form.addEventListener("input", () => this.refresh());
    form.addEventListener("submit", (event) => event.preventDefault());
    this.expanded = new Set(); // sequence numbers whose whole preview is shown
    tbody.addEventListener("click", (event) => {
      const row = event.target.closest("tr");
      if (!row) return;
      const key = row.dataset.sequenceNumber;
      if (!this.expanded.delete(key)) this.expanded.add(key);
      row.classList.toggle("expanded", this.expanded.has(key));
    });
  }

  /** Offer the streams that exist, keeping the user's choices (else the selected stream). */
  setStreams(streams, selected) {
    const names = streams.map((s) => s.name);
    const chosen = new Set(this.#chosen().filter((name) => names.includes(name)));
    if (!chosen.size && selected) chosen.add(selected);
    this.#renderPicks(streams, chosen);
  }

  /** The page selected a stream: browse it (more can be ticked beside it). */
  follow(name) {
    this.#renderPicks(this.streams, new Set([name]));
    this.refresh();
  }

  #renderPicks(streams, chosen) {
    const names = streams.map((s) => s.name);
    this.streams = streams;
    this.picks.replaceChildren(el("legend", { text: "Streams" }), ...names.map((name) =>
      el("label", {}, el("input", { type: "checkbox", name: "stream", value: name, checked: chosen.has(name) }), name)));
    const shards = streams.filter((s) => chosen.has(s.name)).flatMap((s) => s.shards.map((sh) => sh.id));
    const select = this.form.elements.shard;
    const current = select.value;
    select.replaceChildren(el("option", { value: "", text: "all shards" }),
      ...[...new Set(shards)].map((id) => el("option", { value: id, text: id, selected: id === current })));
  }

  #chosen() {
    return [...this.picks.querySelectorAll("input:checked")].map((input) => input.value);
  }

  /** Live refresh: only in "newest" mode, and never two requests at once. */
  tick() {
    if (this.form.elements.live.checked && !this.form.elements.since.value) this.refresh();
  }

  async refresh() {
    const chosen = this.#chosen();
    if (!chosen.length) {
      this.tbody.replaceChildren();
      this.status.textContent = "Pick one or more streams.";
      return;
    }
    if (this.loading) {
      this.again = true; // the filters changed mid-request: ask again with the new ones
      return;
    }
    this.loading = true;
    try {
      const response = await fetch(`/_dashboard/api/records?${this.#query(chosen)}`);
      const body = await response.json();
      if (!response.ok) {
        this.status.textContent = body.error;
        return;
      }
      this.#render(body, chosen);
    } catch (error) {
      this.status.textContent = `Could not load records (${error.message}).`;
    } finally {
      this.loading = false;
    }
    if (this.again) {
      this.again = false;
      this.refresh();
    }
  }

  #query(chosen) {
    const f = this.form.elements;
    const query = new URLSearchParams(chosen.map((name) => ["stream", name]));
    query.set("limit", f.limit.value);
    for (const name of ["key", "text", "shard"]) if (f[name].value) query.set(name, f[name].value);
    if (f.since.value) query.set("since_ms", String(new Date(f.since.value).getTime()));
    return query;
  }

  #render(body, chosen) {
    const since = this.form.elements.since.value;
    const order = since ? `oldest first, from ${date(new Date(since).getTime())}` : "newest first";
    const incomplete = body.complete ? "" : " · scan limit reached: narrow the filters or pick a time";
    this.status.textContent = `${body.records.length} records from ${chosen.length} stream${chosen.length > 1 ? "s" : ""} · ${order}${incomplete}`;
    this.tbody.replaceChildren(...body.records.map((r) => el("tr", {
      "data-sequence-number": r.sequence_number,
      class: this.expanded.has(r.sequence_number) ? "expanded" : null,
    },
      el("td", { text: clock(r.arrival_ms), title: date(r.arrival_ms) }),
      el("td", { text: r.stream }),
      el("td", { text: shardIndex(r.shard), title: r.shard }),
      el("td", { text: r.partition_key }),
      el("td", { text: `…${r.sequence_number.slice(-12)}`, title: r.sequence_number }),
      el("td", {
        class: r.encoding === "base64" ? "data binary" : "data",
        title: `${r.size} bytes${r.encoding === "base64" ? ", binary (base64)" : ""}${r.truncated ? ", preview" : ""}`,
        text: r.data + (r.truncated ? " …" : ""),
      }))));
  }
}
