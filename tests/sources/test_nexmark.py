"""The Nexmark generator: the model's proportions, ids, timing and sizes, from a seed."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from statistics import mean

from headwater.client import ProducerConfig
from headwater.sources import nexmark
from headwater.sources.nexmark import AUCTION, BID, PERSON, NexmarkConfig
from tests.sources.helpers import StreamReader, create_stream, poll

EVENTS = list(nexmark.events(10_000, seed=3))


def of(table: str) -> list[dict]:
    return [record for kind, record in EVENTS if kind == table]


def test_every_epoch_of_50_is_1_person_3_auctions_46_bids() -> None:
    for start in range(0, len(EVENTS), 50):
        kinds = [kind for kind, _ in EVENTS[start : start + 50]]
        assert kinds == [PERSON] + [AUCTION] * 3 + [BID] * 46
    assert Counter(kind for kind, _ in EVENTS) == {PERSON: 200, AUCTION: 600, BID: 9200}


def test_person_and_auction_ids_count_up_from_1000() -> None:
    assert [p["id"] for p in of(PERSON)] == list(range(1000, 1200))
    assert [a["id"] for a in of(AUCTION)] == list(range(1000, 1600))


def test_bids_and_sellers_point_at_existing_ids_or_a_few_ahead() -> None:
    people, auctions = 1000, 1000
    for kind, record in EVENTS:
        if kind == PERSON:
            people = record["id"]
        elif kind == AUCTION:
            auctions = record["id"]
            assert record["seller"] <= people + nexmark.ID_LEAD
            assert 10 <= record["category"] < 15
            assert record["reserve"] >= record["initialBid"]
        else:
            assert record["auction"] <= auctions + nexmark.ID_LEAD
            assert record["auction"] >= auctions - 100  # among the auctions still in flight
            assert record["bidder"] <= people + nexmark.ID_LEAD


def test_hot_auctions_and_bidders_take_their_share() -> None:
    """Hot auctions are the first of each 100 (ids 1000, 1100, ...), hot bidders the second."""
    bids = of(BID)
    hot_auctions = sum(b["auction"] % 100 == 0 for b in bids) / len(bids)
    assert 0.48 <= hot_auctions <= 0.56  # 1 - 1/2, plus the random picks that hit one
    hot_bidders = sum(b["bidder"] % 100 == 1 for b in bids) / len(bids)
    assert 0.73 <= hot_bidders <= 0.8  # 1 - 1/4, likewise


def test_event_time_advances_at_the_configured_rate() -> None:
    config = NexmarkConfig(events_per_second=1000)
    times = [r["dateTime"] for _, r in nexmark.events(2001, config=config)]
    assert times == sorted(times)
    assert times[0] == "2024-01-01T00:00:00.000Z"
    assert times[1] == "2024-01-01T00:00:00.001Z"
    assert times[2000] == "2024-01-01T00:00:02.000Z"
    for auction in of(AUCTION):
        assert auction["expires"] > auction["dateTime"]


def test_sizes_average_what_nexmark_specifies() -> None:
    def size(record: dict) -> int:  # Nexmark counts 8 bytes per number and timestamp
        return sum(
            8 if isinstance(v, int) or k in ("dateTime", "expires") else len(v)
            for k, v in record.items()
        )

    assert 180 <= mean(map(size, of(PERSON))) <= 220
    assert 450 <= mean(map(size, of(AUCTION))) <= 550
    assert 90 <= mean(map(size, of(BID))) <= 110


def test_same_seed_same_events() -> None:
    assert list(nexmark.events(500, seed=3)) == EVENTS[:500]
    assert list(nexmark.events(500, seed=4)) != EVENTS[:500]


def test_produce_writes_each_table_to_its_stream(server, kinesis, stream_name) -> None:
    streams = {table: create_stream(kinesis, f"{stream_name}-{table}") for table in nexmark.TABLES}
    sent = asyncio.run(
        nexmark.produce(
            EVENTS[:300],
            streams,
            ProducerConfig(linger=0.01, ordered=False),
            endpoint_url=server.endpoint,
            region="us-east-1",
        )
    )
    assert sent == 300
    for table, stream in streams.items():
        reader = StreamReader(kinesis, stream)
        expected = [record for kind, record in EVENTS[:300] if kind == table]
        poll(lambda: len(reader.read()) >= len(expected))  # noqa: B023 - polled right here
        got = {(r["PartitionKey"], r["Data"]) for r in reader.records}
        assert got == {
            (nexmark.partition_key(table, e), json.dumps(e, separators=(",", ":")).encode())
            for e in expected
        }
