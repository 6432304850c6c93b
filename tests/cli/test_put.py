"""``headwater put``: lines or JSON from stdin and files, partition keys, batches, retries."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from tests.cli.conftest import read_all


def test_put_file_with_json_field_partition_keys(cli, kinesis, make_stream, tmp_path) -> None:
    stream = make_stream(4)
    path = tmp_path / "readings.jsonl"
    readings = [
        {"device": {"id": f"dev-{n % 7}"}, "source_type": "iot", "n": n} for n in range(1200)
    ]
    path.write_text("\n".join(json.dumps(reading) for reading in readings) + "\n\n")

    result = cli("put", stream, str(path), "--key-field", "device.id", "--progress")
    assert result.exit_code == 0, result.output
    assert "put 1,200 records" in result.stdout and f"to {stream}" in result.stdout
    assert "1,200 records" in result.stderr  # the progress bar's last frame

    stored = read_all(kinesis, stream)
    assert len(stored) == 1200
    by_n = {json.loads(record.data)["n"]: record for record in stored}
    assert sorted(by_n) == list(range(1200))
    for n, record in by_n.items():
        assert record.key == f"dev-{n % 7}"
        assert json.loads(record.data) == readings[n]  # sent as the line's bytes
    # one key, one shard: each device's records stay in order on its shard
    shards_per_key = {
        key: {r.shard for r in stored if r.key == key} for key in {r.key for r in stored}
    }
    assert all(len(shards) == 1 for shards in shards_per_key.values())
    for key in shards_per_key:
        numbers = [json.loads(r.data)["n"] for r in stored if r.key == key]
        assert numbers == sorted(numbers)


def test_put_lines_from_stdin_with_random_or_fixed_keys(cli, kinesis, make_stream) -> None:
    stream = make_stream(2)
    result = cli("put", stream, input="alpha\nbeta\r\n\n  \ngamma")
    assert result.exit_code == 0, result.output
    assert "put 3 records (14 B)" in result.stdout

    fixed = cli("put", stream, "-", "--key", "one-key", "--quiet", input="delta\n")
    assert fixed.exit_code == 0 and fixed.stdout == ""

    stored = read_all(kinesis, stream)
    assert sorted(record.data for record in stored) == [b"alpha", b"beta", b"delta", b"gamma"]
    keys = {record.data: record.key for record in stored}
    assert keys[b"delta"] == "one-key"
    assert len({keys[b"alpha"], keys[b"beta"], keys[b"gamma"]}) == 3  # random keys


def test_put_json_array_and_missing_key_field(cli, kinesis, make_stream, tmp_path) -> None:
    stream = make_stream(1)
    array = tmp_path / "batch.json"
    array.write_text(json.dumps([{"user": "ann", "v": 1}, {"v": 2}, {"user": "bob", "v": 3}]))
    result = cli("put", stream, str(array), "--key-field", "user")
    assert result.exit_code == 0, result.output
    assert "put 3 records" in result.stdout
    assert "1 record had no 'user'" in result.stderr

    stored = read_all(kinesis, stream)
    assert [record.data for record in stored] == [
        b'{"user":"ann","v":1}',
        b'{"v":2}',
        b'{"user":"bob","v":3}',
    ]
    assert [stored[0].key, stored[2].key] == ["ann", "bob"]


def test_put_from_stdin_json_array(cli, kinesis, make_stream) -> None:
    stream = make_stream(1)
    result = cli("put", stream, "--json", input=' [{"a": 1}, {"a": 2}]')
    assert result.exit_code == 0, result.output
    assert [r.data for r in read_all(kinesis, stream)] == [b'{"a":1}', b'{"a":2}']


def _big_lines(count: int) -> str:
    """``count`` lines of ~3.5 KiB: a batch of 500 is 1.7 MiB, over a shard's 1 MiB/s."""
    return "".join(f"{n:06d}{'x' * 3500}\n" for n in range(count))


def test_put_retries_throttled_records(cli, kinesis, make_stream) -> None:
    """One shard takes 1 MiB/s: the first batch cannot all fit, the refused records are sent
    again until they are in."""
    stream = make_stream(1)
    result = cli("put", stream, "--key", "k", input=_big_lines(600))
    assert result.exit_code == 0, result.output
    assert "put 600 records" in result.stdout and "retries" in result.stdout
    stored = read_all(kinesis, stream)
    assert Counter(record.data[:6] for record in stored) == Counter(
        f"{n:06d}".encode() for n in range(600)
    )


def test_put_gives_up_after_max_retries(cli, kinesis, make_stream) -> None:
    stream = make_stream(1)
    result = cli("put", stream, "--key", "k", "--max-retries", "0", input=_big_lines(500))
    assert result.exit_code == 1
    assert "records failed after 0 retries (ProvisionedThroughputExceededException" in (
        result.stderr
    )
    put = int(result.stdout.split()[1].replace(",", ""))
    assert 0 < put == len(read_all(kinesis, stream)) < 500


def test_put_bad_input(cli, make_stream, tmp_path: Path) -> None:
    stream = make_stream(1)
    path = tmp_path / "bad.jsonl"
    path.write_text('{"ok": 1}\n{not json}\n')
    result = cli("put", stream, str(path), "--json")
    assert result.exit_code == 1
    assert f"{path}:2: not valid JSON" in result.stderr
    assert "Traceback" not in result.output

    missing = cli("put", stream, str(tmp_path / "nope.txt"))
    assert missing.exit_code == 2 and "no such file" in missing.stderr

    both = cli("put", stream, "--key", "a", "--key-field", "b", input="x\n")
    assert both.exit_code == 2 and "either --key or --key-field" in both.stderr
