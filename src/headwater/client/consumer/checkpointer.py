"""Recording how far a shard has been processed, in the lease table.

A checkpoint means "everything up to and including this user record is done": after a
restart or a takeover, processing resumes right after it, so records processed but not yet
checkpointed are delivered again (at-least-once). Checkpoints are refused beyond what was
delivered, and once the lease is lost.
"""

from __future__ import annotations

from headwater.client.consumer.held import HeldLease
from headwater.client.consumer.leases.model import SHARD_END, Checkpoint, LeaseScope
from headwater.client.consumer.leases.store import LeaseStore
from headwater.client.errors import InvalidCheckpointError, LeaseLostError
from headwater.client.records import Record


class Checkpointer:
    """The checkpointer handed to one shard's processor."""

    def __init__(self, held: HeldLease, store: LeaseStore, scope: LeaseScope, owner: str) -> None:
        self._held = held
        self._store = store
        self._scope = scope
        self._owner = owner
        self.last_delivered: Record | None = None
        self.at_shard_end = False

    @property
    def shard_id(self) -> str:
        return self._held.shard_id

    @property
    def stopping(self) -> bool:
        """True once the shard was asked to stop (lease lost, handoff, shutdown)."""
        return self._held.stop.is_set()

    @property
    def current(self) -> Checkpoint:
        return self._held.lease.checkpoint

    def delivered(self, records: list[Record]) -> None:
        if records:
            self.last_delivered = records[-1]

    def _target(
        self, where: Record | str | None, sub_sequence_number: int | None
    ) -> Checkpoint | None:
        if isinstance(where, Record):
            return Checkpoint(where.sequence_number, where.sub_sequence_number)
        if where is None:
            if self.at_shard_end:
                return Checkpoint(SHARD_END)
            last = self.last_delivered
            if last is None:
                return None
            return Checkpoint(last.sequence_number, last.sub_sequence_number)
        if where == SHARD_END:
            if not self.at_shard_end:
                raise InvalidCheckpointError("SHARD_END before the end of the shard was reached")
            return Checkpoint(SHARD_END)
        if not where.isdigit():
            raise InvalidCheckpointError(f"not a sequence number: {where!r}")
        if sub_sequence_number is None:
            last = self.last_delivered
            same = last is not None and last.sequence_number == where
            sub_sequence_number = last.sub_sequence_number if same else 0
        return Checkpoint(where, sub_sequence_number)

    def _check(self, target: Checkpoint) -> None:
        if target.is_shard_end:
            return
        last = self.last_delivered
        if last is None or target.position > last.position:
            raise InvalidCheckpointError(
                f"{target.sequence}/{target.sub_sequence} was not delivered to this processor"
            )
        current = self.current
        if not current.is_sentinel and target.position < current.position:
            raise InvalidCheckpointError("checkpoint is before the last checkpoint")

    async def checkpoint(
        self, where: Record | str | None = None, sub_sequence_number: int | None = None
    ) -> None:
        """Checkpoint at a record, a sequence number, or (None) the last record delivered.

        At shard end, ``checkpoint()`` records SHARD_END, which lets the children start.
        """
        if self._held.lost:
            raise LeaseLostError(f"lease for {self.shard_id} was lost")
        target = self._target(where, sub_sequence_number)
        if target is None or target == self.current:
            return
        self._check(target)

        async def write(lease):
            return await self._store.checkpoint(
                self._scope, lease.shard_id, self._owner, lease.counter, target
            )

        if not await self._held.write(write):
            raise LeaseLostError(f"lease for {self.shard_id} was lost")
