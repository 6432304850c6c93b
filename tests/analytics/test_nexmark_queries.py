"""The Nexmark query files on the engine give what Nexmark defines, computed here in Python.

A few thousand generated events over 25 s of event time (several windows of every size), fed
in micro-batches per table as ``bench/nexmark`` does.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from decimal import Decimal

from bench.nexmark import measure, workload

EVENTS = workload.build(5000, 400, seed=11, span_s=25.0)
TEN_S = timedelta(seconds=10)


def records(table: str) -> list[dict]:
    rows = [json.loads(r) for r in EVENTS.whole([table])[table]]
    for row in rows:
        row["dateTime"] = datetime.fromisoformat(row["dateTime"]).replace(tzinfo=None)
    return rows


def output(query: str) -> list[dict]:
    return measure.run(query, EVENTS)[1]


def window_start(moment: datetime, size: timedelta) -> datetime:
    epoch = datetime(1970, 1, 1)
    return moment - (moment - epoch) % size


BIDS = records("bid")


def test_q0_passes_every_bid_through() -> None:
    assert measure.same_rows(output("q0"), BIDS)


def test_q1_converts_prices_to_euros() -> None:
    expected = [{**bid, "price": Decimal("0.908") * bid["price"]} for bid in BIDS]
    assert measure.same_rows(output("q1"), expected)


def test_q2_selects_bids_on_every_123rd_auction() -> None:
    expected = [
        {"auction": b["auction"], "price": b["price"]} for b in BIDS if b["auction"] % 123 == 0
    ]
    assert expected and measure.same_rows(output("q2"), expected)


def test_q5_finds_the_auctions_with_most_bids_per_hopping_window() -> None:
    counts: dict[datetime, Counter] = defaultdict(Counter)
    slide = timedelta(seconds=2)
    for bid in BIDS:
        last = window_start(bid["dateTime"], slide)
        for step in range(5):  # the 10 s windows sliding by 2 s that hold this bid
            counts[last - step * slide][bid["auction"]] += 1
    expected = []
    for per_auction in counts.values():
        top = max(per_auction.values())
        expected += [{"auction": a, "num": n} for a, n in per_auction.items() if n == top]
    assert measure.same_rows(output("q5"), expected)


def test_q7_finds_the_highest_bids_per_tumbling_window() -> None:
    highest: dict[datetime, int] = {}
    for bid in BIDS:
        end = window_start(bid["dateTime"], TEN_S) + TEN_S
        highest[end] = max(highest.get(end, 0), bid["price"])
    expected = [
        {k: bid[k] for k in ("auction", "bidder", "price", "dateTime", "extra")}
        for end, price in highest.items()
        for bid in BIDS
        if bid["price"] == price and end - TEN_S <= bid["dateTime"] <= end
    ]
    assert len(highest) >= 3 and measure.same_rows(output("q7"), expected)


def test_q8_finds_new_people_who_opened_an_auction_in_the_same_window() -> None:
    sellers = {(a["seller"], window_start(a["dateTime"], TEN_S)) for a in records("auction")}
    expected = {
        (p["id"], p["name"], window_start(p["dateTime"], TEN_S))
        for p in records("person")
        if (p["id"], window_start(p["dateTime"], TEN_S)) in sellers
    }
    got = [(row["id"], row["name"], row["stime"]) for row in output("q8")]
    assert expected and sorted(got) == sorted(expected)
