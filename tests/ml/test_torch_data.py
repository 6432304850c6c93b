"""The IterableDataset spreads shards over DataLoader workers: every record exactly once."""

from __future__ import annotations

from collections import Counter

import pytest

torch = pytest.importorskip("torch")

from torch.utils.data import DataLoader  # noqa: E402

from headwater.ml.torch_data import StreamShardDataset, assign_shards  # noqa: E402


def test_assign_shards_partitions() -> None:
    shards = [f"shardId-{i:012d}" for i in range(5)]
    parts = [assign_shards(shards, w, 4) for w in range(4)]
    assert sorted(s for part in parts for s in part) == shards
    assert [len(p) for p in parts] == [2, 1, 1, 1]


def record_key(row: dict) -> tuple[str, str, int, int, int]:
    """The record's identity, its id and the worker that read it (-1: the main process)."""
    info = torch.utils.data.get_worker_info()
    worker = -1 if info is None else info.id
    return (
        row["_shard_id"],
        row["_sequence_number"],
        row["_sub_sequence_number"],
        row["id"],
        worker,
    )


@pytest.mark.filterwarnings("ignore:This DataLoader will create 4 worker processes")
def test_dataloader_four_workers_every_record_once(make_stream, put_json, client_options) -> None:
    stream = make_stream(5)  # more shards than workers, unevenly spread
    put_json(stream, [{"id": i, "x": float(i)} for i in range(300)])
    dataset = StreamShardDataset(stream, transform=record_key, **client_options)
    loader = DataLoader(dataset, num_workers=4, batch_size=None, timeout=60)
    seen = [tuple(item) for item in loader]  # the default collate turns tuples into lists
    counts = Counter(key[:4] for key in seen)
    assert len(seen) == 300
    assert all(n == 1 for n in counts.values())
    assert sorted(key[3] for key in seen) == list(range(300))
    assert len({key[0] for key in seen}) == 5
    workers_by_shard = {}
    for key in seen:
        workers_by_shard.setdefault(key[0], set()).add(key[4])
    assert all(len(w) == 1 for w in workers_by_shard.values())  # a shard is one worker's
    assert set().union(*workers_by_shard.values()) == {0, 1, 2, 3}


def test_main_process_reads_every_shard(make_stream, put_json, client_options) -> None:
    stream = make_stream(2)
    put_json(stream, [{"id": i, "source_type": "iot" if i < 3 else "web"} for i in range(10)])
    dataset = StreamShardDataset(stream, source_type="iot", **client_options)
    assert sorted(row["id"] for row in dataset) == [0, 1, 2]
