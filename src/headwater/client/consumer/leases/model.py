"""What a lease is: who owns a shard for an application, and how far it has been processed."""

from __future__ import annotations

from dataclasses import dataclass

TRIM_HORIZON = "TRIM_HORIZON"
LATEST = "LATEST"
AT_TIMESTAMP = "AT_TIMESTAMP"
SHARD_END = "SHARD_END"
SENTINELS = frozenset({TRIM_HORIZON, LATEST, AT_TIMESTAMP, SHARD_END})


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A position in a shard: a sequence number (plus sub-sequence), or a sentinel.

    ``(sequence, sub_sequence)`` means "everything up to and including this user record has
    been processed". Sentinels: where to start (TRIM_HORIZON, LATEST, AT_TIMESTAMP with
    ``timestamp``) before anything was checkpointed, and SHARD_END once a closed shard is done.
    """

    sequence: str
    sub_sequence: int = 0
    timestamp: float | None = None

    @property
    def is_sentinel(self) -> bool:
        return self.sequence in SENTINELS

    @property
    def is_shard_end(self) -> bool:
        return self.sequence == SHARD_END

    @property
    def position(self) -> tuple[int, int]:
        if self.is_sentinel:
            raise ValueError(f"{self.sequence} has no position")
        return int(self.sequence), self.sub_sequence

    def encode(self) -> str:
        """The text stored in the lease table's ``checkpoint`` column."""
        if self.sequence == AT_TIMESTAMP:
            return f"{AT_TIMESTAMP}:{self.timestamp!r}"
        return self.sequence

    @classmethod
    def decode(cls, text: str, sub_sequence: int) -> Checkpoint:
        if text.startswith(AT_TIMESTAMP + ":"):
            return cls(AT_TIMESTAMP, 0, float(text.split(":", 1)[1]))
        return cls(text, sub_sequence)


@dataclass(frozen=True, slots=True)
class LeaseScope:
    """Leases are per application and stream: one table serves many of both."""

    application: str
    stream: str


@dataclass(frozen=True, slots=True)
class Lease:
    """One row of the lease table, as read (``expired`` is judged by the store's own clock).

    ``counter`` changes on every write by the owner (renewal, checkpoint); every conditional
    update names the counter it read, so two workers can never both win the same shard.
    ``pending_owner`` is a worker asking for the shard: the owner checkpoints and hands it
    over (graceful handoff), so rebalancing does not cause duplicates.
    """

    shard_id: str
    owner: str | None
    counter: int
    checkpoint: Checkpoint
    parent_shard_ids: tuple[str, ...] = ()
    pending_owner: str | None = None
    expired: bool = False

    @property
    def finished(self) -> bool:
        return self.checkpoint.is_shard_end

    @property
    def available(self) -> bool:
        """Free to take: nobody owns it, or its owner stopped renewing."""
        return not self.finished and (self.owner is None or self.expired)
