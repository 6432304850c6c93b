"""Simulators: deterministic (seeded) streams of realistic events, with labels.

Each generator yields ``(partition_key, record)`` forever; the same seed and start time give
the same records. Event time is simulated (``start`` plus one interval per record at the
nominal rate), so output does not depend on the wall clock.

- ``iot``: temperature, vibration and pressure per machine; some machines drift toward a
  failure (``failing = true`` from the start of the drift, ``failure = true`` once broken).
- ``payments``: card transactions with injected fraud patterns (``card_testing`` bursts of
  small amounts, ``geo_jump`` a far country minutes after a home purchase, ``high_amount``);
  ``is_fraud`` and ``fraud_pattern`` label them.
- ``social``: posts per platform with text built from a shipped sentiment lexicon, so
  ``sentiment`` (the lexicon score) is computable from the text alone.
- ``orders``: order rows changing like a database table (insert, update, delete), shaped
  like CDC rows.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import time
from collections.abc import Callable, Iterator
from typing import Any

Event = tuple[str, dict[str, Any]]

# A small sentiment lexicon (word → valence in -4..4, the scale of VADER's lexicon).
LEXICON: dict[str, float] = {
    "love": 3.2,
    "great": 3.1,
    "amazing": 2.8,
    "happy": 2.7,
    "excellent": 2.7,
    "good": 1.9,
    "nice": 1.8,
    "fun": 2.3,
    "wow": 2.8,
    "best": 3.2,
    "awesome": 3.1,
    "like": 1.5,
    "hate": -2.7,
    "terrible": -2.1,
    "awful": -2.0,
    "bad": -2.5,
    "worst": -3.1,
    "sad": -2.1,
    "angry": -2.3,
    "broken": -2.2,
    "slow": -1.4,
    "boring": -1.3,
    "annoying": -1.8,
    "fail": -2.5,
}
NEUTRAL = [
    "the",
    "new",
    "phone",
    "coffee",
    "train",
    "update",
    "weather",
    "game",
    "today",
    "app",
    "movie",
    "service",
    "delivery",
    "team",
    "price",
    "music",
    "city",
    "weekend",
    "store",
    "food",
]
PLATFORMS = ["twitter", "reddit", "mastodon", "instagram"]
HASHTAGS = ["#tech", "#news", "#sports", "#music", "#food", "#travel"]
COUNTRIES = ["US", "GB", "DE", "FR", "ES", "IT", "NL", "SE", "JP", "BR", "IN", "AU"]
MERCHANTS = ["grocery", "fuel", "electronics", "restaurant", "travel", "online", "pharmacy"]
PRODUCTS = ["sku-" + str(n) for n in range(100, 160)]
STATUSES = ["created", "paid", "shipped", "delivered"]


def _iso(moment: float) -> str:
    when = dt.datetime.fromtimestamp(moment, dt.UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def sentiment_of(text: str) -> float:
    """The post's sentiment: mean lexicon valence of its words, normalised to -1..1."""
    scores = [LEXICON[word] for word in text.lower().split() if word in LEXICON]
    return round(sum(scores) / (4 * len(scores)), 4) if scores else 0.0


def iot(seed: int, start: float, rate: float = 100.0, machines: int = 10) -> Iterator[Event]:
    rng = random.Random(seed)
    base = [
        {
            "temperature": rng.uniform(55, 70),
            "vibration": rng.uniform(0.2, 0.6),
            "pressure": rng.uniform(95, 105),
            # a third of the machines start drifting at some point; the others never fail
            "drift_from": rng.randint(50, 400) if rng.random() < 0.34 else None,
            "fails_after": rng.randint(80, 200),
        }
        for _ in range(machines)
    ]
    readings = [0] * machines
    n = 0
    while True:
        index = n % machines
        machine, reading = base[index], readings[index]
        readings[index] += 1
        drift = 0.0
        if machine["drift_from"] is not None and reading >= machine["drift_from"]:
            drift = (reading - machine["drift_from"]) / machine["fails_after"]
        failure = drift >= 1.0
        record = {
            "machine_id": f"machine-{index:03d}",
            "ts": _iso(start + n / rate),
            "temperature": round(machine["temperature"] + 25 * drift + rng.gauss(0, 0.8), 2),
            "vibration": round(machine["vibration"] * (1 + 3 * drift) + rng.gauss(0, 0.03), 3),
            "pressure": round(machine["pressure"] - 8 * drift + rng.gauss(0, 0.5), 2),
            "rpm": 0 if failure else int(1500 + rng.gauss(0, 20)),
            "failing": drift > 0,
            "failure": failure,
        }
        yield record["machine_id"], record
        n += 1


def payments(seed: int, start: float, rate: float = 100.0, users: int = 200) -> Iterator[Event]:
    rng = random.Random(seed)
    homes = [rng.choice(COUNTRIES) for _ in range(users)]
    n = 0
    queue: list[dict[str, Any]] = []
    while True:
        if not queue:
            user = rng.randrange(users)
            card = f"card-{user:05d}"
            roll = rng.random()
            legit = {
                "card_id": card,
                "user_id": f"user-{user:05d}",
                "amount": round(rng.lognormvariate(3.2, 0.8), 2),
                "merchant": rng.choice(MERCHANTS),
                "country": homes[user],
                "is_fraud": False,
                "fraud_pattern": None,
            }
            queue.append(legit)
            if roll < 0.02:  # card testing: a burst of tiny amounts at online merchants
                queue += [
                    {
                        **legit,
                        "amount": round(rng.uniform(0.5, 2.0), 2),
                        "merchant": "online",
                        "is_fraud": True,
                        "fraud_pattern": "card_testing",
                    }
                    for _ in range(rng.randint(4, 8))
                ]
            elif roll < 0.035:  # geo jump: the same card abroad right after a home purchase
                abroad = rng.choice([c for c in COUNTRIES if c != homes[user]])
                queue.append(
                    {
                        **legit,
                        "country": abroad,
                        "amount": round(rng.uniform(200, 900), 2),
                        "is_fraud": True,
                        "fraud_pattern": "geo_jump",
                    }
                )
            elif roll < 0.045:
                queue[-1] = {
                    **legit,
                    "amount": round(rng.uniform(2500, 9000), 2),
                    "merchant": "electronics",
                    "is_fraud": True,
                    "fraud_pattern": "high_amount",
                }
        record = {
            "event_type": "transaction",
            "transaction_id": f"tx-{seed}-{n:08d}",
            "ts": _iso(start + n / rate),
            **queue.pop(0),
        }
        yield record["card_id"], record
        n += 1


def social(seed: int, start: float, rate: float = 100.0, users: int = 500) -> Iterator[Event]:
    rng = random.Random(seed)
    sentiment_words = list(LEXICON)
    n = 0
    while True:
        words = rng.choices(NEUTRAL, k=rng.randint(4, 10))
        for _ in range(rng.randint(0, 3)):
            words.insert(rng.randrange(len(words) + 1), rng.choice(sentiment_words))
        text = " ".join(words)
        user = rng.randrange(users)
        record = {
            "post_id": f"post-{seed}-{n:08d}",
            "platform": rng.choice(PLATFORMS),
            "user_id": f"@user{user}",
            "ts": _iso(start + n / rate),
            "text": text,
            "hashtags": rng.sample(HASHTAGS, rng.randint(0, 2)),
            "likes": int(rng.paretovariate(1.5)) - 1,
            "sentiment": sentiment_of(text),
        }
        yield record["user_id"], record
        n += 1


def orders(seed: int, start: float, rate: float = 100.0) -> Iterator[Event]:
    rng = random.Random(seed)
    live: dict[int, dict[str, Any]] = {}
    next_id = 1
    n = 0
    while True:
        roll = rng.random()
        ts = _iso(start + n / rate)
        if not live or roll < 0.5:
            row = {
                "order_id": next_id,
                "customer_id": rng.randint(1, 1000),
                "product": rng.choice(PRODUCTS),
                "quantity": rng.randint(1, 5),
                "amount": round(rng.uniform(5, 300), 2),
                "status": "created",
                "updated_at": ts,
            }
            live[next_id] = row
            next_id += 1
            operation = "insert"
        elif roll < 0.9:
            row = live[rng.choice(sorted(live))]
            stage = STATUSES.index(row["status"])
            row.update(status=STATUSES[min(stage + 1, len(STATUSES) - 1)], updated_at=ts)
            operation = "update"
        else:
            row = live.pop(rng.choice(sorted(live)))
            operation = "delete"
        record = {"operation": operation, "table": "orders", "ts": ts, "row": dict(row)}
        yield f"orders.{row['order_id']}", record
        n += 1


GENERATORS: dict[str, Callable[..., Iterator[Event]]] = {
    "iot": iot,
    "payments": payments,
    "social": social,
    "orders": orders,
}


async def run_simulator(
    kind: str,
    emit: Callable[[str, dict[str, Any]], Any],
    *,
    seed: int = 0,
    rate: float | None = 100.0,
    count: int | None = None,
    start: float | None = None,
    stop: asyncio.Event | None = None,
    source_type: str | None = None,
) -> int:
    """Feed ``count`` records (or until ``stop``) to ``emit(key, record)`` at ``rate`` per
    second (None: as fast as ``emit`` takes them). ``emit`` may be async. Returns the count."""
    events = GENERATORS[kind](seed, time.time() if start is None else start, rate or 1000.0)
    began = time.monotonic()
    sent = 0
    while (count is None or sent < count) and not (stop is not None and stop.is_set()):
        if rate:
            ahead = began + sent / rate - time.monotonic()
            if ahead > 0:
                await asyncio.sleep(ahead)  # pacing to the rate
        key, record = next(events)
        if source_type is not None:
            record["source_type"] = source_type
        result = emit(key, record)
        if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
            await result
        sent += 1
    return sent
