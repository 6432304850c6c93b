"""Two Headwater API nodes on one R3 JetStream cluster: one view of every stream, one order
per shard, and no acknowledged record lost when a NATS server or a Headwater node dies."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import pairwise

import pytest
from botocore.exceptions import BotoCoreError, ClientError

from tests.support.lineage import Kinesis
from tests.support.nats_cluster import NatsCluster
from tests.support.server import HeadwaterServer
from tests.support.waiting import poll_until

_namespaces = itertools.count()
SHARD0 = "shardId-000000000000"


@dataclass
class Nodes:
    a: HeadwaterServer
    b: HeadwaterServer
    prefix: str


@pytest.fixture
def nodes(nats_cluster: NatsCluster, tmp_path) -> Iterator[Nodes]:
    """Two nodes sharing a namespace of their own, limits off (the cluster is the subject)."""
    prefix = f"n{next(_namespaces)}"
    url = nats_cluster.storage_url(replicas=3, prefix=prefix)
    a, b = (
        HeadwaterServer(tmp_path / name, "--storage", url, "--limits", "off", "--api-nodes", "2")
        for name in ("a", "b")
    )
    a.start()
    b.start()
    yield Nodes(a, b, prefix)
    for node in (a, b):
        node.kill()


def _visible(kinesis: Kinesis, name: str) -> bool:
    try:
        kinesis.describe_stream_summary(StreamName=name)
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "ResourceNotFoundException"
        return False
    return True


def _read_shard(kinesis: Kinesis, name: str, shard_id: str) -> list[dict]:
    """Every record of a shard from TRIM_HORIZON to where a read finds nothing more."""
    iterator = kinesis.get_shard_iterator(
        StreamName=name, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records: list[dict] = []
    for _ in range(10_000):
        page = kinesis.get_records(ShardIterator=iterator, Limit=10_000)
        records += page["Records"]
        if not page["Records"] and page["MillisBehindLatest"] == 0:
            return records
        iterator = page["NextShardIterator"]
    raise AssertionError("shard never caught up")


def _read_at_least(kinesis: Kinesis, name: str, count: int) -> list[dict]:
    """The shard's records once a node sees ``count`` of them: appends made through another
    node reach this one's view of the tail a message hop later."""

    def enough() -> list[dict] | None:
        records = _read_shard(kinesis, name, SHARD0)
        return records if len(records) >= count else None

    return poll_until(enough, 10, f"{count} records on the reading node")


def test_every_node_serves_every_stream(nodes: Nodes, stream_name: str) -> None:
    a, b = nodes.a.client(), nodes.b.client()
    a.create_stream(StreamName=stream_name, ShardCount=1)
    poll_until(lambda: _visible(b, stream_name), 10, "the stream on node b")
    put = a.put_record(StreamName=stream_name, Data=b"from-a", PartitionKey="k")
    got = _read_at_least(b, stream_name, 1)
    assert [(r["Data"], r["SequenceNumber"]) for r in got] == [(b"from-a", put["SequenceNumber"])]

    b.split_shard(StreamName=stream_name, ShardToSplit=SHARD0, NewStartingHashKey=str(2**127))
    poll_until(
        lambda: len(a.list_shards(StreamName=stream_name)["Shards"]) == 3, 10, "the split on a"
    )
    child = a.put_record(StreamName=stream_name, Data=b"after", PartitionKey="k")
    assert child["ShardId"] != SHARD0 and child["SequenceNumber"] > put["SequenceNumber"]
    parent = b.list_shards(StreamName=stream_name)["Shards"][0]
    assert parent["SequenceNumberRange"]["EndingSequenceNumber"] == put["SequenceNumber"]

    a.delete_stream(StreamName=stream_name)
    poll_until(lambda: not _visible(b, stream_name), 10, "the deletion on node b")


@dataclass
class Writer:
    """Puts numbered batches through one node until stopped; keeps what was acknowledged."""

    kinesis: Kinesis
    stream: str
    tag: str
    acked: dict[bytes, str] = field(default_factory=dict)
    ack_times: list[float] = field(default_factory=list)
    refusals: list[int] = field(default_factory=list)  # HTTP status of each refused put
    unreachable: int = 0  # puts whose node was gone
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self, batches: int = 100_000, deadline_s: float = 120.0) -> None:
        end = time.monotonic() + deadline_s
        for batch in range(batches):
            if self.stop.is_set() or time.monotonic() > end:
                return
            datas = [f"{self.tag}-{batch}-{i}".encode() for i in range(20)]
            try:
                answer = self.kinesis.put_records(
                    StreamName=self.stream,
                    Records=[{"Data": d, "PartitionKey": "one-key"} for d in datas],
                )
            except ClientError as exc:
                self.refusals.append(exc.response["ResponseMetadata"]["HTTPStatusCode"])
                continue
            except BotoCoreError:
                self.unreachable += 1
                continue
            for data, entry in zip(datas, answer["Records"], strict=True):
                if "SequenceNumber" in entry:
                    self.acked[data] = entry["SequenceNumber"]
            self.ack_times.append(time.monotonic())

    def acks_after(self, moment: float) -> int:
        return sum(1 for at in self.ack_times if at > moment)

    def stall_after(self, moment: float) -> float:
        """The longest wait between two acknowledgements once ``moment`` had passed."""
        times = [at for at in self.ack_times if at <= moment][-1:] + [
            at for at in self.ack_times if at > moment
        ]
        return max((later - earlier for earlier, later in pairwise(times)), default=0.0)


def test_writers_on_both_nodes_share_one_strictly_increasing_order(
    nodes: Nodes, stream_name: str
) -> None:
    nodes.a.client().create_stream(StreamName=stream_name, ShardCount=1)
    poll_until(lambda: _visible(nodes.b.client(), stream_name), 10, "the stream on node b")
    writers = [
        Writer(node.client(), stream_name, tag) for node, tag in ((nodes.a, "a"), (nodes.b, "b"))
    ]
    threads = [threading.Thread(target=w.run, kwargs={"batches": 40}) for w in writers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    acked = {**writers[0].acked, **writers[1].acked}
    assert len(acked) == 2 * 40 * 20
    got = _read_at_least(nodes.b.client(), stream_name, len(acked))
    numbers = [int(r["SequenceNumber"]) for r in got]
    assert all(x < y for x, y in pairwise(numbers))
    assert {r["Data"]: r["SequenceNumber"] for r in got} == acked


@pytest.mark.slow
def test_kill_9_of_the_stream_leader_and_of_a_node_loses_no_acknowledged_record(
    nats_cluster: NatsCluster, nodes: Nodes, stream_name: str, record_property
) -> None:
    b_client = nodes.b.client()
    nodes.a.client().create_stream(StreamName=stream_name, ShardCount=1)
    poll_until(lambda: _visible(b_client, stream_name), 10, "the stream on node b")
    writers = [
        Writer(node.client(), stream_name, tag) for node, tag in ((nodes.a, "a"), (nodes.b, "b"))
    ]
    threads = [threading.Thread(target=w.run) for w in writers]
    for thread in threads:
        thread.start()
    try:
        poll_until(lambda: all(len(w.ack_times) >= 10 for w in writers), 20, "both writers")
        leader = nats_cluster.stream_leader(f"{nodes.prefix}.*.{SHARD0}")
        leader.kill()
        killed_at = time.monotonic()
        poll_until(lambda: all(w.acks_after(killed_at) >= 5 for w in writers), 30, "writes again")
        leader_stall_s = max(w.stall_after(killed_at) for w in writers)

        nodes.a.kill()
        node_killed_at = time.monotonic()
        poll_until(lambda: writers[1].acks_after(node_killed_at) >= 5, 30, "node b answering")
        node_stall_s = writers[1].stall_after(node_killed_at)
    finally:
        for writer in writers:
            writer.stop.set()
        for thread in threads:
            thread.join(60)
        for node in nats_cluster.nodes:
            if not node.running:
                node.start()
        nats_cluster.wait_healthy()

    record_property("longest_stall_after_leader_kill_s", round(leader_stall_s, 3))
    record_property("longest_stall_on_b_after_node_kill_s", round(node_stall_s, 3))
    record_property("acknowledged_records", len(writers[0].acked) + len(writers[1].acked))
    refusals = writers[0].refusals + writers[1].refusals
    record_property("refused_puts", len(refusals))
    assert set(refusals) <= {503}, "storage trouble must reach clients as ServiceUnavailable"
    assert leader_stall_s < 15 and node_stall_s < 5  # a Raft election takes 4-9 s
    acked = {**writers[0].acked, **writers[1].acked}
    got = _read_at_least(b_client, stream_name, len(acked))
    numbers = [int(r["SequenceNumber"]) for r in got]
    assert all(x < y for x, y in pairwise(numbers))
    stored = {r["Data"]: r["SequenceNumber"] for r in got}
    lost = [data for data, number in acked.items() if stored.get(data) != number]
    assert not lost, f"{len(lost)} acknowledged records missing or moved, e.g. {lost[:3]}"
