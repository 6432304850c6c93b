"""Value types whose wire form differs between JSON 1.1 and CBOR."""

from __future__ import annotations

from collections.abc import Sequence


class Timestamp:
    """A point in time: JSON carries epoch seconds (a decimal), AWS CBOR epoch milliseconds."""

    __slots__ = ("ms",)

    def __init__(self, ms: int) -> None:
        self.ms = ms

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Timestamp) and other.ms == self.ms

    def __hash__(self) -> int:
        return hash(self.ms)

    def __repr__(self) -> str:
        return f"Timestamp({self.ms})"


class Records:
    """The ``Records`` list of GetRecords and SubscribeToShard events, held as columns.

    A read answers with up to 10,000 records; a dict per record would cost more than reading
    them, so the codecs render these columns straight to the wire. Record ``i`` has sequence
    number ``first_sequence_number + i`` (consecutive: one shard, in order). A plain class,
    not a dataclass, which msgspec would encode field by field without asking the codec.
    """

    __slots__ = ("arrival_ms", "datas", "encrypted", "first_sequence_number", "partition_keys")

    def __init__(
        self,
        first_sequence_number: int,
        arrival_ms: list[int],
        partition_keys: list[bytes],
        datas: list[bytes],
        encrypted: list[bool] | None = None,
    ) -> None:
        self.first_sequence_number = first_sequence_number
        self.arrival_ms = arrival_ms
        self.partition_keys = partition_keys  # UTF-8
        self.datas = datas
        self.encrypted = encrypted  # EncryptionType KMS per record; None: none is

    def __len__(self) -> int:
        return len(self.datas)

    def __repr__(self) -> str:
        return f"Records({self.first_sequence_number}, {len(self)} records)"


class PutResults:
    """The ``Records`` of a PutRecords response, in request order, held per shard batch.

    Each batch is (shard id, first sequence number, request indexes): the batch's records
    got consecutive numbers, so the codecs render them at once instead of a dict per record.
    Throttled records are ``errors``: request index -> (error code, message).
    """

    __slots__ = ("batches", "count", "errors")

    def __init__(self, count: int) -> None:
        self.count = count
        self.batches: list[tuple[str, int, Sequence[int]]] = []
        self.errors: dict[int, tuple[str, str]] = {}

    @property
    def failed(self) -> int:
        return len(self.errors)

    def entry(self, index: int) -> dict[str, str]:
        """One record's entry as a plain dict (PutRecord answers with its only record's)."""
        if index in self.errors:
            code, message = self.errors[index]
            return {"ErrorCode": code, "ErrorMessage": message}
        for shard_id, first, indexes in self.batches:
            if index in indexes:
                number = first + list(indexes).index(index)
                return {"SequenceNumber": str(number), "ShardId": shard_id}
        raise IndexError(index)

    def __repr__(self) -> str:
        return f"PutResults({self.count} records, {self.failed} failed)"
