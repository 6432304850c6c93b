"""On-demand capacity: an ON_DEMAND stream splits hot shards and merges cold neighbours back.

A private server with tiny limits (``--limits 0.01``: 10 records/s per shard) and quick
scaling knobs lets a bounded loopback load make a shard hot within a second. The test checks
what a user sees: the open shard count grows, ListShards shows the lineage of each split,
the stream admits more than a PROVISIONED stream under the same load (which is left alone),
every action is logged, and once the load stops cold neighbours are merged back down to the
configured minimum.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest

from tests.support.lineage import (
    HASH_KEY_MAX,
    Kinesis,
    arn_of,
    create_stream,
    list_shards,
    open_shards,
    parents_of,
    ranges_of,
    wait_active,
)
from tests.support.server import HeadwaterServer

KEYS = [f"device-{i}" for i in range(20)]
MAX_SHARDS = 4
LOAD_DEADLINE_S = 12.0
MERGE_DEADLINE_S = 15.0


@pytest.fixture(scope="module")
def scaling_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HeadwaterServer]:
    running = HeadwaterServer(
        tmp_path_factory.mktemp("on-demand") / "data",
        "--limits",
        "0.01",
        "--on-demand-interval-s",
        "0.2",
        "--on-demand-sustain-s",
        "0.6",
        "--on-demand-min-shards",
        "1",
        "--on-demand-max-shards",
        str(MAX_SHARDS),
        "--on-demand-merge-after-s",
        "1",
        "--log-level",
        "info",
    ).start()
    try:
        yield running
    finally:
        running.stop()


class Load:
    """One thread offering ~100 records/s to each stream, far above a 10 records/s shard."""

    def __init__(self, server: HeadwaterServer, names: list[str]) -> None:
        self.client = server.client()
        self.names = names
        self.stop = threading.Event()
        self.admitted: dict[str, int] = dict.fromkeys(names, 0)
        self.errors: list[BaseException] = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Load:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop.set()
        self.thread.join(timeout=10)

    def _run(self) -> None:
        counter = 0
        try:
            while not self.stop.wait(0.05):
                for name in self.names:
                    batch = [(KEYS[(counter + i) % len(KEYS)], counter + i) for i in range(5)]
                    response = self.client.put_records(
                        StreamName=name,
                        Records=[
                            {"PartitionKey": k, "Data": f"{k}:{n}".encode()} for k, n in batch
                        ],
                    )
                    for result in response["Records"]:
                        if "SequenceNumber" in result:
                            self.admitted[name] += 1
                        else:
                            assert result["ErrorCode"] == "ProvisionedThroughputExceededException"
                counter += 5
        except BaseException as error:  # reported by the test
            self.errors.append(error)


def open_count(kinesis: Kinesis, name: str) -> int:
    return kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"][
        "OpenShardCount"
    ]


def wait_for_open_count(
    kinesis: Kinesis,
    name: str,
    done: Callable[[int], bool],
    timeout_s: float,
    load: Load | None = None,
) -> int:
    deadline = time.monotonic() + timeout_s
    while True:
        count = open_count(kinesis, name)
        if done(count):
            return count
        if load is not None:
            assert not load.errors, load.errors
        assert time.monotonic() < deadline, f"{name} stayed at {count} open shards"
        time.sleep(0.1)


def test_on_demand_stream_splits_under_load_and_merges_back_when_idle(scaling_server):
    kinesis = scaling_server.client()
    name, provisioned = "autoscaled", "provisioned-control"
    create_stream(kinesis, name, 1)
    create_stream(kinesis, provisioned, 1)
    kinesis.update_stream_mode(
        StreamARN=arn_of(name), StreamModeDetails={"StreamMode": "ON_DEMAND"}
    )
    summary = wait_active(kinesis, name)
    assert summary["StreamModeDetails"] == {"StreamMode": "ON_DEMAND"}

    with Load(scaling_server, [name, provisioned]) as load:
        grown = wait_for_open_count(kinesis, name, lambda n: n >= 3, LOAD_DEADLINE_S, load)
    assert not load.errors, load.errors
    assert grown <= MAX_SHARDS
    assert open_count(kinesis, provisioned) == 1, "a PROVISIONED stream must not scale by itself"
    # The added shards are real capacity: more of the same offered load got in.
    assert load.admitted[name] > load.admitted[provisioned], load.admitted

    # Each split is visible in ListShards: a closed parent and two halves naming it.
    shards = list_shards(kinesis, name)
    splits = 0
    for parent in shards:
        children = [s for s in shards if parents_of(s) == [parent["ShardId"]]]
        if not children:
            continue
        splits += 1
        assert "EndingSequenceNumber" in parent["SequenceNumberRange"]
        (low, high) = ranges_of([parent])[0]
        middle = (low + high + 1) // 2
        assert sorted(ranges_of(children)) == [(low, middle - 1), (middle, high)]
        for child in children:
            assert int(child["SequenceNumberRange"]["StartingSequenceNumber"]) > int(
                parent["SequenceNumberRange"]["EndingSequenceNumber"]
            )
    assert splits >= 2
    assert ranges_of(open_shards(shards))[0][0] == 0
    assert ranges_of(open_shards(shards))[-1][1] == HASH_KEY_MAX

    # Idle now: cold neighbours are merged back to the minimum of one shard.
    wait_for_open_count(kinesis, name, lambda n: n == 1, MERGE_DEADLINE_S)
    shards = list_shards(kinesis, name)
    (last,) = open_shards(shards)
    assert ranges_of([last]) == [(0, HASH_KEY_MAX)]
    assert "AdjacentParentShardId" in last, "the last open shard comes from a merge"
    listed = {s["ShardId"]: s for s in shards}
    for parent in parents_of(last):
        assert "EndingSequenceNumber" in listed[parent]["SequenceNumberRange"]
    summary = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
    assert summary["StreamModeDetails"] == {"StreamMode": "ON_DEMAND"}

    # Every scaling action is logged, and only for the ON_DEMAND stream.
    actions = [
        line for line in scaling_server.log_path.read_text().splitlines() if "on-demand" in line
    ]
    assert any(f"split stream={name} " in line for line in actions), actions
    assert any(f"merge stream={name} " in line for line in actions), actions
    assert not any(provisioned in line for line in actions), actions
