"""The fraud-detection example, end to end on simulated card payments.

::

    simulator ─→ payments ─┬─→ online learner (River) ─→ fraud-scores stream + online store
                           └─→ delivery (Parquet) ─→ lake ─→ point-in-time training set

The online model scores every payment before learning its label (progressive validation);
the summary compares it with a constant baseline that always predicts the fraud rate seen so
far. Everything talks to the stream service through the Kinesis API only.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import socket
import subprocess
import sys
import time
import urllib.request
from collections import OrderedDict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any

from river import linear_model, optim, preprocessing

from headwater.client import KinesisClient, Producer
from headwater.delivery.config import parse_config
from headwater.delivery.runner import DeliveryRunner
from headwater.ml.online import LearnerState, OnlineLearner, OnlineLearningSettings
from headwater.ml.readers import read_dataset
from headwater.ml.training import FeatureView, build_training_set
from headwater.sources.simulators import payments

RATE = 50.0  # simulated payments per second of event time


@dataclass(slots=True)
class CardHistory:
    home: str
    recent: deque[float] = field(default_factory=deque)
    last_time: float | None = None
    transactions: int = 0
    mean_log_amount: float = 0.0


class PaymentFeatures:
    """Per-card features from the card's own past: what a fraud analyst would look at first.

    Remembers at most ``max_cards`` cards (least recently seen forgotten first), so memory
    stays bounded however many cards pass by.
    """

    def __init__(self, window_s: float = 60.0, max_cards: int = 100_000) -> None:
        self.window_s = window_s
        self.max_cards = max_cards
        self.cards: OrderedDict[str, CardHistory] = OrderedDict()

    def _history(self, card: str, country: str) -> CardHistory:
        history = self.cards.get(card)
        if history is None:
            history = self.cards[card] = CardHistory(home=country)
            if len(self.cards) > self.max_cards:
                self.cards.popitem(last=False)
        else:
            self.cards.move_to_end(card)
        return history

    def __call__(self, event: dict[str, Any]) -> dict[str, float]:
        when = datetime.fromisoformat(str(event["ts"]).replace("Z", "+00:00")).timestamp()
        amount = float(event.get("amount") or 0.0)
        country = str(event.get("country"))
        history = self._history(str(event.get("card_id")), country)
        while history.recent and history.recent[0] < when - self.window_s:
            history.recent.popleft()
        log_amount = math.log1p(max(amount, 0.0))
        since_last = 3600.0 if history.last_time is None else when - history.last_time
        features = {
            "log_amount": log_amount,
            "amount_vs_usual": log_amount - history.mean_log_amount
            if history.transactions
            else 0.0,
            "payments_last_window": float(len(history.recent)),
            "abroad": float(country != history.home),
            "online": float(event.get("merchant") == "online"),
            "minutes_since_last": min(since_last, 3600.0) / 60.0,
        }
        history.recent.append(when)
        history.last_time = when
        history.transactions += 1
        history.mean_log_amount += (log_amount - history.mean_log_amount) / history.transactions
        return features


def new_fraud_state() -> LearnerState:
    """A fresh learner: scaled features into an online logistic regression."""
    model = preprocessing.StandardScaler() | linear_model.LogisticRegression(
        optimizer=optim.SGD(0.05)
    )
    return LearnerState(model=model, features=PaymentFeatures())


# -- the pipeline ------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def local_server(data_dir: Path, timeout: float = 30.0) -> Iterator[str]:
    """A Headwater server on a free loopback port for the example's lifetime."""
    port = _free_port()
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "headwater", "serve", "--port", str(port)),
            *("--data-dir", str(data_dir), "--log-level", "warning"),
        ],
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{endpoint}/_headwater/health", timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the example's Headwater server did not start") from None
                time.sleep(0.1)
        yield endpoint
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


async def _wait(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await asyncio.to_thread(condition):
        if time.monotonic() > deadline:
            raise TimeoutError(f"fraud example: timed out waiting for {what}")
        await asyncio.sleep(0.2)


def _lake_rows(lake: Path) -> int:
    if not any(lake.rglob("*.parquet")):
        return 0
    return read_dataset(str(lake), format="parquet", columns=["transaction_id"]).num_rows


def training_set(lake: Path) -> Any:
    """Labels (each payment) as-of joined with the card's profile from *earlier* payments."""
    import duckdb

    payments_table = read_dataset(str(lake), format="parquet")
    con = duckdb.connect()
    try:
        con.register("payments", payments_table)
        labels = con.sql(
            "SELECT transaction_id, card_id, CAST(ts AS TIMESTAMP) AS ts, amount, is_fraud "
            "FROM payments ORDER BY ts, transaction_id"
        ).to_arrow_table()
        profile = con.sql(
            "SELECT card_id, CAST(ts AS TIMESTAMP) AS ts, "
            "avg(amount) OVER w AS mean_amount, count(*) OVER w AS payments_so_far "
            "FROM payments WINDOW w AS (PARTITION BY card_id ORDER BY ts, transaction_id "
            "ROWS UNBOUNDED PRECEDING)"
        ).to_arrow_table()
    finally:
        con.close()
    view = FeatureView(
        profile,
        "card_id",
        "ts",
        ["mean_amount", "payments_so_far"],
        ttl=timedelta(days=30),
        prefix="card_",
    )
    # Strictly earlier profile rows only: a payment's own amount must not leak into its features.
    return build_training_set(
        labels, entity="card_id", time="ts", views=[view], allow_exact_matches=False
    )


async def run_fraud_pipeline(
    endpoint_url: str,
    workdir: Path,
    *,
    records: int = 5000,
    seed: int = 7,
    prefix: str = "fraud",
    timeout: float = 120.0,
) -> dict[str, Any]:
    """Run the whole example against ``endpoint_url``; returns the summary it prints."""
    workdir.mkdir(parents=True, exist_ok=True)
    payments_stream, scores_stream = f"{prefix}-payments", f"{prefix}-scores"
    client_options = {"endpoint_url": endpoint_url, "region": "us-east-1"}
    async with KinesisClient(**client_options) as client:
        for stream, shards in ((payments_stream, 2), (scores_stream, 1)):
            await client.create_stream(stream, shards)
            await client.wait_for_active(stream)

    start = time.time() - records / RATE  # simulated event times end about now
    events = payments(seed, start, RATE)
    async with Producer(payments_stream, **client_options) as producer:
        pending = [await producer.put_json(record, key) for key, record in islice(events, records)]
        await asyncio.gather(*pending)

    learner = OnlineLearner(
        OnlineLearningSettings(
            stream=payments_stream,
            application=f"{prefix}-online-model",
            state_path=workdir / "model.pickle",
            label_field="is_fraud",
            id_field="transaction_id",
            entity_field="card_id",
            time_field="ts",
            output_stream=scores_stream,
            online_store=f"sqlite:///{workdir / 'online-store.sqlite'}",
            store_table="card_scores",
        ),
        new_fraud_state,
        lease_store=str(workdir / "leases.sqlite"),
        **client_options,
    )
    lake = workdir / "lake"
    delivery = DeliveryRunner(
        parse_config(
            {
                "kinesis": {**client_options, "lease_store": str(workdir / "leases.sqlite")},
                "delivery": [
                    {
                        "name": f"{prefix}-lake",
                        "stream": payments_stream,
                        "destination": str(lake),
                        "format": "parquet",
                        "event_time_field": "ts",
                        "prefix": "!{timestamp:yyyy/MM/dd}/",
                        "buffer_interval": 1.0,
                    }
                ],
            },
            workdir,
        )
    )
    tasks = [asyncio.create_task(learner.run()), asyncio.create_task(delivery.run())]
    try:
        await _wait(lambda: learner.state.scored >= records, timeout, "the online model")
        await _wait(lambda: _lake_rows(lake) >= records, timeout, "the Parquet delivery")
    finally:
        learner.stop()
        delivery.stop()
        await asyncio.gather(*tasks)

    training = await asyncio.to_thread(training_set, lake)
    training.to_pandas().to_parquet(workdir / "training_set.parquet")
    return {
        **learner.report(),
        "scores_stream": scores_stream,
        "online_store": str(workdir / "online-store.sqlite"),
        "lake": str(lake),
        "lake_rows": _lake_rows(lake),
        "training_rows": training.num_rows,
        "training_set": str(workdir / "training_set.parquet"),
    }


def run_fraud_example(
    workdir: Path, *, endpoint_url: str | None = None, records: int = 5000, seed: int = 7
) -> dict[str, Any]:
    """The one-command example: starts its own server unless ``endpoint_url`` is given.

    ``workdir`` must be new or empty: a model, leases or files of an earlier run would be
    resumed rather than started afresh.
    """
    if workdir.exists() and any(workdir.iterdir()):
        raise FileExistsError(f"{workdir} is not empty; give a new directory")
    if endpoint_url is not None:
        return asyncio.run(run_fraud_pipeline(endpoint_url, workdir, records=records, seed=seed))
    with local_server(workdir / "server-data") as endpoint:
        return asyncio.run(run_fraud_pipeline(endpoint, workdir, records=records, seed=seed))


__all__ = ["PaymentFeatures", "new_fraud_state", "run_fraud_example", "run_fraud_pipeline"]
