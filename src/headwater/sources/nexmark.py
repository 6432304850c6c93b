"""Nexmark: the online-auction event stream streaming engines are benchmarked with.

A port of the Nexmark generator's model (as the Nexmark project's Flink generator defines it):
events come in epochs of 50, one person, then three auctions, then 46 bids; event ``n`` has
event time ``base_time + n * inter-event delay`` (10,000 events/s by default). Ids start at
1000; auctions are numbered by their order, people likewise. A bid is for a *hot* auction (the
first of the last 100 auctions) with probability 1 - 1/2, else for one of the last 100 auctions
(plus 10 ids not created yet); its bidder is a hot bidder (the second of the last 100 people)
with probability 1 - 1/4, else one of the last 1,000 people (plus 10 ahead). An auction's
seller is a hot seller likewise (the first of the last 100 people), its category one of 5.
Events are padded with ``extra`` to 200 B (person), 500 B (auction) and 100 B (bid) on average.

One difference: the Flink generator draws from an unseeded random source; here one seeded
``random.Random`` makes the same seed give the same events (so benchmark runs compare).

``events`` yields ``(table, record)`` with table ``person``, ``auction`` or ``bid`` (the tables
Nexmark's queries read); ``dateTime`` (and an auction's ``expires``) are ISO 8601 UTC strings
with milliseconds, which JSON carries and SQL casts to TIMESTAMP. ``produce`` writes them to
one stream per table.
"""

from __future__ import annotations

import datetime as dt
import random
import string
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import msgspec

from headwater.client import Producer, ProducerConfig

PERSON, AUCTION, BID = "person", "auction", "bid"
TABLES = (PERSON, AUCTION, BID)
Event = tuple[str, dict[str, Any]]

FIRST_PERSON_ID = 1000
FIRST_AUCTION_ID = 1000
FIRST_CATEGORY_ID = 10
NUM_CATEGORIES = 5
ID_LEAD = 10  # ids a random pick may run ahead of the last one created
HOT_GROUP = 100  # hot sellers/bidders/auctions are the first (second) of each group of 100
US_STATES = ("AZ", "CA", "ID", "OR", "WA", "WY")
US_CITIES = (
    "Phoenix",
    "Los Angeles",
    "San Francisco",
    "Boise",
    "Portland",
    "Bend",
    "Redmond",
    "Seattle",
    "Kent",
    "Cheyenne",
)
FIRST_NAMES = ("Peter", "Paul", "Luke", "John", "Saul", "Vicky", "Kate", "Julie", "Sarah")
LAST_NAMES = ("Shultz", "Abrams", "Spencer", "White", "Bartels", "Walton", "Smith", "Jones")
#: 2024-01-01T00:00:00Z: a fixed event-time origin, so runs are reproducible.
DEFAULT_BASE_TIME_MS = 1_704_067_200_000


@dataclass(frozen=True, slots=True)
class NexmarkConfig:
    """The generator's knobs, with Nexmark's defaults."""

    events_per_second: float = 10_000.0
    base_time_ms: int = DEFAULT_BASE_TIME_MS
    person_proportion: int = 1
    auction_proportion: int = 3
    bid_proportion: int = 46
    num_active_people: int = 1000
    num_in_flight_auctions: int = 100
    hot_auction_ratio: int = 2
    hot_sellers_ratio: int = 4
    hot_bidders_ratio: int = 4
    avg_person_bytes: int = 200
    avg_auction_bytes: int = 500
    avg_bid_bytes: int = 100

    @property
    def total_proportion(self) -> int:
        return self.person_proportion + self.auction_proportion + self.bid_proportion

    def timestamp_ms(self, number: int) -> int:
        """Event time of event ``number``: evenly spaced at the configured rate."""
        return self.base_time_ms + int(number * 1_000_000 / self.events_per_second) // 1000

    def kind(self, number: int) -> str:
        offset = number % self.total_proportion
        if offset < self.person_proportion:
            return PERSON
        return AUCTION if offset < self.person_proportion + self.auction_proportion else BID

    def last_person(self, number: int) -> int:
        """The newest person id (base 0) at event ``number`` (this one's, if a person)."""
        epoch, offset = divmod(number, self.total_proportion)
        return epoch * self.person_proportion + min(offset, self.person_proportion - 1)

    def last_auction(self, number: int) -> int:
        """The newest auction id (base 0) at event ``number`` (this one's, if an auction)."""
        epoch, offset = divmod(number, self.total_proportion)
        if offset < self.person_proportion:
            return epoch * self.auction_proportion - 1  # the previous epoch's last (-1 at first)
        return epoch * self.auction_proportion + min(
            offset - self.person_proportion, self.auction_proportion - 1
        )


def iso_ms(epoch_ms: int) -> str:
    """``2024-01-01T00:00:00.123Z``."""
    when = dt.datetime.fromtimestamp(epoch_ms // 1000, dt.UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}Z"


class _Draws:
    """The random choices of the model, on one seeded source."""

    def __init__(self, config: NexmarkConfig, seed: int) -> None:
        self.config = config
        self.rng = random.Random(seed)

    def price(self) -> int:
        return round(10 ** (self.rng.random() * 6) * 100)

    def text(self, max_length: int) -> str:
        """3 to ``max_length - 1`` letters with a space now and then (1 in 13)."""
        length = 3 + self.rng.randrange(max_length - 3)
        return "".join(self.rng.choices(string.ascii_lowercase + " ", k=length)).strip()

    def extra(self, current: int, average: int) -> str:
        """Padding bringing the event to ``average`` bytes on average (±20 %)."""
        wanted = average - current
        if wanted <= 0:
            return ""
        delta = round(wanted * 0.2)
        size = wanted - delta + (self.rng.randrange(2 * delta) if delta else 0)
        return "".join(self.rng.choices(string.ascii_lowercase, k=size))

    def person_id(self, number: int) -> int:
        """One of the active people, or a few not created yet (base 0)."""
        people = self.config.last_person(number) + 1
        active = min(people, self.config.num_active_people)
        return people - active + self.rng.randrange(active + ID_LEAD)

    def auction_id(self, number: int) -> int:
        """One of the auctions likely still open, or a few not created yet (base 0)."""
        newest = self.config.last_auction(number)
        oldest = max(newest - self.config.num_in_flight_auctions, 0)
        return oldest + self.rng.randrange(max(newest - oldest, 0) + 1 + ID_LEAD)

    def hot(self, ratio: int) -> bool:
        return self.rng.randrange(ratio) > 0


def _person(draws: _Draws, number: int, when: int) -> dict[str, Any]:
    rng = draws.rng
    name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
    email = f"{draws.text(7)}@{draws.text(5)}.com"
    card = " ".join(f"{rng.randrange(10000):04d}" for _ in range(4))
    city, state = rng.choice(US_CITIES), rng.choice(US_STATES)
    size = 8 + len(name) + len(email) + len(card) + len(city) + len(state)
    return {
        "id": draws.config.last_person(number) + FIRST_PERSON_ID,
        "name": name,
        "emailAddress": email,
        "creditCard": card,
        "city": city,
        "state": state,
        "dateTime": iso_ms(when),
        "extra": draws.extra(size, draws.config.avg_person_bytes),
    }


def _auction(draws: _Draws, number: int, when: int) -> dict[str, Any]:
    config, rng = draws.config, draws.rng
    if draws.hot(config.hot_sellers_ratio):
        seller = config.last_person(number) // HOT_GROUP * HOT_GROUP
    else:
        seller = draws.person_id(number)
    initial_bid = draws.price()
    # Auctions last twice, on average, the time until num_in_flight_auctions more are created.
    ahead = config.num_in_flight_auctions * config.total_proportion // config.auction_proportion
    horizon = config.timestamp_ms(number + ahead) - when
    expires = when + 1 + rng.randrange(max(2 * horizon, 1))
    name, description = draws.text(20), draws.text(100)
    return {
        "id": config.last_auction(number) + FIRST_AUCTION_ID,
        "itemName": name,
        "description": description,
        "initialBid": initial_bid,
        "reserve": initial_bid + draws.price(),
        "dateTime": iso_ms(when),
        "expires": iso_ms(expires),
        "seller": seller + FIRST_PERSON_ID,
        "category": FIRST_CATEGORY_ID + rng.randrange(NUM_CATEGORIES),
        "extra": draws.extra(8 + len(name) + len(description) + 40, config.avg_auction_bytes),
    }


def _bid(draws: _Draws, number: int, when: int) -> dict[str, Any]:
    config = draws.config
    if draws.hot(config.hot_auction_ratio):
        auction = config.last_auction(number) // HOT_GROUP * HOT_GROUP
    else:
        auction = draws.auction_id(number)
    if draws.hot(config.hot_bidders_ratio):
        bidder = config.last_person(number) // HOT_GROUP * HOT_GROUP + 1
    else:
        bidder = draws.person_id(number)
    return {
        "auction": auction + FIRST_AUCTION_ID,
        "bidder": bidder + FIRST_PERSON_ID,
        "price": draws.price(),
        "dateTime": iso_ms(when),
        "extra": draws.extra(32, config.avg_bid_bytes),
    }


_MAKERS = {PERSON: _person, AUCTION: _auction, BID: _bid}


def events(
    count: int | None = None, seed: int = 0, config: NexmarkConfig | None = None
) -> Iterator[Event]:
    """``count`` events (forever if None) in event-time order, as ``(table, record)``."""
    config = config or NexmarkConfig()
    draws = _Draws(config, seed)
    number = 0
    while count is None or number < count:
        kind = config.kind(number)
        yield kind, _MAKERS[kind](draws, number, config.timestamp_ms(number))
        number += 1


def partition_key(table: str, record: dict[str, Any]) -> str:
    """People and auctions by their id, bids by their auction."""
    return str(record["auction"] if table == BID else record["id"])


async def produce(
    stream_events: Iterable[Event],
    streams: dict[str, str],
    producer_config: ProducerConfig | None = None,
    **client_options: Any,
) -> int:
    """Put every event, as JSON, into ``streams[table]``; the number put once all are acked.

    By default records are not kept in order per key: half the bids share one hot auction,
    and an ordered producer moves one record of a key per PutRecords call.
    """
    encode = msgspec.json.Encoder().encode
    config = producer_config or ProducerConfig(ordered=False)
    producers = {
        table: Producer(stream, config=config, **client_options)
        for table, stream in streams.items()
    }
    sent = 0
    try:
        for producer in producers.values():
            await producer.start()
        for table, record in stream_events:
            await producers[table].put(encode(record), partition_key(table, record))
            sent += 1
    finally:
        for producer in producers.values():
            await producer.close()
    failed = sum(p.metrics.snapshot().get("records_failed", 0) for p in producers.values())
    if failed:
        raise RuntimeError(f"{failed} of {sent} Nexmark events were not written")
    return sent
