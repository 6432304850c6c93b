"""Online learning: the fraud example end to end, and exactly-once learning across kill -9."""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from headwater.delivery.online.store import open_store
from headwater.examples.fraud import run_fraud_pipeline
from headwater.ml import read_stream, read_stream_async
from headwater.ml.online import LearnerState, ProgressiveLearner
from tests.support.server import HeadwaterServer
from tests.support.waiting import poll_until

ROOT = Path(__file__).resolve().parents[2]


async def test_fraud_example_beats_a_constant_baseline(
    server: HeadwaterServer, tmp_path: Path, stream_name: str
) -> None:
    records = 3000
    summary = await run_fraud_pipeline(
        server.endpoint, tmp_path, records=records, seed=11, prefix=stream_name
    )
    assert summary["scored"] == summary["learned"] == records
    assert summary["model_roc_auc"] > 0.85
    assert summary["model_roc_auc"] > summary["baseline_roc_auc"] + 0.25
    assert summary["model_log_loss"] < summary["baseline_log_loss"]

    scores_table = await read_stream_async(summary["scores_stream"], endpoint_url=server.endpoint)
    scores = scores_table.to_pylist()
    assert len({s["id"] for s in scores}) == records
    assert all(0.0 <= s["score"] <= 1.0 for s in scores)

    # The online store holds each card's score with the latest event time.
    latest: dict[str, dict] = {}
    for s in scores:
        if s["entity"] not in latest or s["ts"] >= latest[s["entity"]]["ts"]:
            latest[s["entity"]] = s
    store = open_store(f"sqlite:///{summary['online_store']}")
    try:
        for card, score in list(latest.items())[:50]:
            stored = store.get("card_scores", card)
            assert stored is not None
            assert stored.value["score"] == pytest.approx(score["score"])
    finally:
        store.close()

    # Every payment reached the lake once; the training set sees only earlier payments.
    assert summary["lake_rows"] == records
    training = pq.read_table(summary["training_set"]).to_pylist()
    assert len(training) == records
    seen: dict[str, int] = defaultdict(int)
    for row in sorted(training, key=lambda r: (r["ts"], r["transaction_id"])):
        before = seen[row["card_id"]]
        assert (row["card_payments_so_far"] or 0) == before, row
        seen[row["card_id"]] += 1


def test_progressive_learner_scores_before_learning() -> None:
    from river import linear_model

    learner = ProgressiveLearner(
        LearnerState(model=linear_model.LogisticRegression(), features=lambda e: {"x": e["x"]}),
        label_field="y",
        id_field="id",
    )
    first = learner.step({"id": "a", "x": 1.0, "y": True})
    assert first.score == 0.5  # an untrained model: the label was not seen yet
    second = learner.step({"id": "b", "x": 1.0, "y": True})
    assert second.score > 0.5
    unlabelled = learner.step({"id": "c", "x": 1.0})
    assert unlabelled.label is None
    assert learner.report()["learned"] == 2
    assert learner.report()["scored"] == 3


def _start_worker(server, stream, output, workdir, expected) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    arguments = [server.endpoint, stream, output, str(workdir), expected]
    return subprocess.Popen(
        [sys.executable, "-m", "tests.ml.online_learner_worker", *arguments],
        env=env,
        cwd=ROOT,
    )


def _saved_learned(path: Path) -> int:
    try:
        with open(path, "rb") as file:
            return pickle.load(file).learned
    except (FileNotFoundError, EOFError, pickle.UnpicklingError):
        return 0


@pytest.mark.slow
def test_kill_9_learns_every_record_exactly_once(
    server: HeadwaterServer, kinesis, stream_name: str, tmp_path: Path
) -> None:
    output = f"{stream_name}-out"
    for name, shards in ((stream_name, 2), (output, 1)):
        kinesis.create_stream(StreamName=name, ShardCount=shards)
        kinesis.get_waiter("stream_exists").wait(
            StreamName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100}
        )
    total = 2000
    events = [{"id": f"e{i}", "x": (i % 7) - 3.0, "y": (i % 7) > 3} for i in range(total)]
    for start in range(0, total, 500):
        answer = kinesis.put_records(
            StreamName=stream_name,
            Records=[
                {"Data": json.dumps(e).encode(), "PartitionKey": e["id"]}
                for e in events[start : start + 500]
            ],
        )
        assert answer["FailedRecordCount"] == 0

    state_path = tmp_path / "state.pickle"
    worker = _start_worker(server, stream_name, output, tmp_path, str(total))
    try:
        poll_until(lambda: _saved_learned(state_path) >= 300, timeout=60, what="a saved state")
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        assert _saved_learned(state_path) < total, "the kill came too late to test a restart"
    finally:
        if worker.poll() is None:
            worker.kill()
    worker = _start_worker(server, stream_name, output, tmp_path, str(total))
    assert worker.wait(90) == 0

    with open(state_path, "rb") as file:
        state: LearnerState = pickle.load(file)
    assert state.learned == total  # not one record learned twice, none skipped
    assert state.scored == total

    scores = read_stream(output, endpoint_url=server.endpoint).to_pylist()
    assert {s["id"] for s in scores} == {e["id"] for e in events}
    by_id: dict[str, set[float]] = defaultdict(set)
    for s in scores:
        by_id[s["id"]].add(s["score"])
    assert all(len(values) == 1 for values in by_id.values()), "repeats must be identical"
    assert max(Counter(s["id"] for s in scores).values()) <= 2


def _learner_config(tmp_path: Path, server: HeadwaterServer, stream: str, output: str) -> Path:
    config = tmp_path / "learner.toml"
    config.write_text(
        f"""
[kinesis]
endpoint_url = "{server.endpoint}"
lease_store = "leases.sqlite"

[learner]
stream = "{stream}"
application = "{stream}-model"
model = "headwater.examples.fraud:new_fraud_state"
label_field = "is_fraud"
id_field = "transaction_id"
entity_field = "card_id"
time_field = "ts"
output_stream = "{output}"
online_store = "online.sqlite"
checkpoint_records = 50
"""
    )
    return config


@pytest.mark.slow
def test_learn_command_runs_until_sigterm_and_saves_its_state(
    server: HeadwaterServer, kinesis, stream_name: str, tmp_path: Path
) -> None:
    from itertools import islice

    from headwater.sources.simulators import payments

    output = f"{stream_name}-scores"
    for name in (stream_name, output):
        kinesis.create_stream(StreamName=name, ShardCount=1)
        kinesis.get_waiter("stream_exists").wait(
            StreamName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100}
        )
    events = [record for _, record in islice(payments(3, 1_700_000_000.0), 300)]
    answer = kinesis.put_records(
        StreamName=stream_name,
        Records=[{"Data": json.dumps(e).encode(), "PartitionKey": e["card_id"]} for e in events],
    )
    assert answer["FailedRecordCount"] == 0
    config = _learner_config(tmp_path, server, stream_name, output)
    process = subprocess.Popen(
        [sys.executable, "-m", "headwater", "learn", str(config), "--log-level", "warning"],
        cwd=ROOT,
    )
    try:
        poll_until(
            lambda: len(read_stream(output, endpoint_url=server.endpoint)) >= 300,
            timeout=60,
            what="300 scores",
            interval=0.3,
        )
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
    finally:
        if process.poll() is None:
            process.kill()
    with open(tmp_path / f"{stream_name}-model.state.pickle", "rb") as file:
        assert pickle.load(file).learned == 300
    store = open_store(f"sqlite:///{tmp_path / 'online.sqlite'}")
    try:
        assert store.get("scores", events[-1]["card_id"]) is not None
    finally:
        store.close()


def test_learn_command_refuses_a_bad_config(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from headwater.cli.main import app

    config = tmp_path / "learner.toml"
    config.write_text('[learner]\nstream = "s"\n')
    result = CliRunner().invoke(app, ["learn", str(config)])
    assert result.exit_code == 2
    assert "[learner] needs application, label_field, id_field, model" in result.output
    config.write_text(
        '[learner]\nstream = "s"\napplication = "a"\nlabel_field = "y"\nid_field = "id"\n'
        'model = "no_such_module:new_state"\n'
    )
    result = CliRunner().invoke(app, ["learn", str(config)])
    assert result.exit_code == 2
    assert "no_such_module" in result.output
