"""Data-plane operations: PutRecord(s), GetShardIterator, GetRecords."""

from __future__ import annotations

from headwater.errors import InvalidArgumentException, ResourceNotFoundException
from headwater.service import sequence
from headwater.service.model import Stream
from headwater.service.record_columns import RecordColumns
from headwater.service.records import parse_explicit_hash_key
from headwater.service.registry import WRITABLE_STATES
from headwater.service.service import StreamService
from headwater.service.validation import validation_error

MAX_PUT_RECORDS_BYTES = 5 * 1024 * 1024


def _stream_for_data(service: StreamService, request: dict) -> Stream:
    """Data calls on a stream that is not ACTIVE/UPDATING see it as missing, as on AWS."""
    registry = service.registry
    stream = registry.find(request)
    if stream.status(service.clock.now_ms()) not in WRITABLE_STATES:
        raise registry.not_found(stream.name)
    return stream


def check_record_sizes(stream: Stream, datas: list[bytes], path: str) -> None:
    """Each record's data within the stream's maximum record size (1 MiB unless raised).

    ``path`` names the member as AWS does in the message, with ``{}`` for a 1-based index.
    """
    limit = stream.max_record_size_kib * 1024
    if max(map(len, datas)) <= limit:
        return
    raise validation_error(
        [
            f"Value at '{path.format(i)}' failed to satisfy constraint: "
            f"Member must have length less than or equal to {limit}"
            for i, data in enumerate(datas, 1)
            if len(data) > limit
        ]
    )


def check_partition_keys(records: list[dict], path: str) -> None:
    """Headwater routes every record by its key: a missing key is refused as AWS did before
    keys became optional in its model (for a routing mode this server does not offer)."""
    missing = [i for i, record in enumerate(records, 1) if "PartitionKey" not in record]
    if missing:
        raise validation_error(
            [
                f"Value null at '{path.format(i)}' failed to satisfy constraint: "
                "Member must not be null"
                for i in missing
            ]
        )


def _with_encryption(stream: Stream, response: dict) -> dict:
    if stream.encryption_type != "NONE":
        response["EncryptionType"] = stream.encryption_type
    return response


async def put_record(service: StreamService, request: dict) -> dict:
    check_partition_keys([request], "partitionKey")
    stream = _stream_for_data(service, request)
    check_record_sizes(stream, [request["Data"]], "data")
    ordering = request.get("SequenceNumberForOrdering")
    if ordering is not None and sequence.decode(ordering) is None:
        raise InvalidArgumentException(
            f"ExclusiveMinimumSequenceNumber {ordering} used in PutRecord on stream "
            f"{stream.name} under account {service.config.account_id} is invalid."
        )
    hash_key = parse_explicit_hash_key(request.get("ExplicitHashKey"))
    results = await service.records.put(
        stream,
        [request["PartitionKey"].encode()],
        [request["Data"]],
        [hash_key],
        all_or_nothing=True,
    )
    entry = results.entry(0)
    return _with_encryption(
        stream, {"ShardId": entry["ShardId"], "SequenceNumber": entry["SequenceNumber"]}
    )


async def put_records(service: StreamService, request: dict) -> dict:
    stream = _stream_for_data(service, request)
    records = request["Records"]
    if not isinstance(records, RecordColumns):  # the generic path: a dict per entry
        check_partition_keys(records, "records.{}.member.partitionKey")
        records = RecordColumns.from_entries(records)
    datas, keys = records.datas, records.partition_keys
    check_record_sizes(stream, datas, "records.{}.member.data")
    hash_keys = None
    if records.explicit_hash_keys is not None:
        hash_keys = list(map(parse_explicit_hash_key, records.explicit_hash_keys))
    limit = max(MAX_PUT_RECORDS_BYTES, stream.max_record_size_kib * 1024)
    if sum(map(len, datas)) + sum(map(len, keys)) > limit:
        raise InvalidArgumentException(f"Records size exceeds {limit // (1024 * 1024)} MB limit")
    results = await service.records.put(stream, keys, datas, hash_keys, all_or_nothing=False)
    return _with_encryption(stream, {"FailedRecordCount": results.failed, "Records": results})


async def get_shard_iterator(service: StreamService, request: dict) -> dict:
    try:
        stream = _stream_for_data(service, request)
    except ResourceNotFoundException:
        # AWS reads the shard id before it looks for the stream, and names the shard.
        name = service.registry.resolve_name(request)
        raise service.records.missing_shard(name, request["ShardId"]) from None
    kind = request["ShardIteratorType"]
    number = request.get("StartingSequenceNumber")
    if kind in ("TRIM_HORIZON", "LATEST", "AT_TIMESTAMP") and number is not None:
        raise InvalidArgumentException(
            "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and "
            "StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no "
            f"StartingSequenceNumber. Request specified {kind} and also a "
            "StartingSequenceNumber."
        )
    iterator = await service.records.shard_iterator(
        stream, request["ShardId"], kind, number, request.get("Timestamp")
    )
    return {"ShardIterator": iterator}


async def get_records(service: StreamService, request: dict) -> dict:
    token = request["ShardIterator"]
    if len(token) > 2 and token[0] == token[-1] == '"':
        token = token[1:-1]  # AWS accepts an iterator wrapped in quotes
    return await service.records.get_records(token, request.get("Limit"))
