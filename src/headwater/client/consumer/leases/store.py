"""The lease table's contract, and the SQL both backends share.

Every write is one conditional UPDATE naming the owner and counter the caller last saw, so
the database itself arbitrates races: of two workers taking the same expired lease, exactly
one UPDATE matches. Expiry is judged by the store's clock (SQLite: the host's; PostgreSQL:
the server's ``clock_timestamp()``), so workers on several hosts need no clock agreement.
"""

from __future__ import annotations

import re
from typing import Any, Protocol

from headwater.client.consumer.leases.model import Checkpoint, Lease, LeaseScope

TABLE = "headwater_leases"
_COLUMNS = "shard_id, owner, counter, checkpoint, sub_sequence, parent_shard_ids, pending_owner"
_SCOPE = "application = :application AND stream = :stream"
_ROW = f"{_SCOPE} AND shard_id = :shard_id"


class LeaseStoreError(Exception):
    """The lease table could not be read or written (connection lost, locked too long)."""


class LeaseStore(Protocol):
    """Where leases live; every conditional method returns the updated lease or None."""

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def list_scopes(self) -> list[LeaseScope]: ...

    async def list_leases(self, scope: LeaseScope) -> list[Lease]: ...

    async def create_lease(
        self, scope: LeaseScope, shard_id: str, checkpoint: Checkpoint, parents: tuple[str, ...]
    ) -> bool: ...

    async def renew(
        self, scope: LeaseScope, shard_id: str, owner: str, counter: int, duration: float
    ) -> Lease | None: ...

    async def take(
        self, scope: LeaseScope, shard_id: str, counter: int, owner: str, duration: float
    ) -> Lease | None: ...

    async def request_handoff(
        self, scope: LeaseScope, shard_id: str, owner: str, requester: str
    ) -> Lease | None: ...

    async def hand_over(
        self, scope: LeaseScope, shard_id: str, owner: str, counter: int, duration: float
    ) -> Lease | None: ...

    async def checkpoint(
        self, scope: LeaseScope, shard_id: str, owner: str, counter: int, checkpoint: Checkpoint
    ) -> Lease | None: ...

    async def release(
        self, scope: LeaseScope, shard_id: str, owner: str, counter: int
    ) -> Lease | None: ...

    async def delete_lease(self, scope: LeaseScope, shard_id: str) -> None: ...


class SqlLeaseStore:
    """The statements, written once with ``:name`` parameters and two clock placeholders.

    A backend supplies ``NOW`` (an SQL expression or parameter for the current time),
    ``EXPIRY`` (now plus ``:duration`` seconds), ``DDL`` and ``_run`` (execute one statement,
    return its rows).
    """

    NOW = ":now"
    EXPIRY = "(:now + :duration)"
    DDL: tuple[str, ...] = ()
    PARAM_STYLE = "named"

    def _sql(self, template: str) -> str:
        text = template.replace("{now}", self.NOW).replace("{expiry}", self.EXPIRY)
        if self.PARAM_STYLE == "pyformat":
            text = re.sub(r":([a-z_]+)", r"%(\1)s", text)
        return text

    async def _run(self, sql: str, params: dict[str, Any]) -> list[tuple]:
        raise NotImplementedError

    async def _rows(self, template: str, scope: LeaseScope, **params: Any) -> list[tuple]:
        params.update(application=scope.application, stream=scope.stream)
        return await self._run(self._sql(template), params)

    async def _one(self, template: str, scope: LeaseScope, **params: Any) -> Lease | None:
        rows = await self._rows(template, scope, **params)
        return _lease(rows[0]) if rows else None

    async def list_scopes(self) -> list[LeaseScope]:
        """Every (application, stream) with leases in this store."""
        rows = await self._run(
            f"SELECT DISTINCT application, stream FROM {TABLE} ORDER BY application, stream", {}
        )
        return [LeaseScope(application, stream) for application, stream in rows]

    async def list_leases(self, scope: LeaseScope) -> list[Lease]:
        rows = await self._rows(
            f"SELECT {_COLUMNS}, (expires_at IS NOT NULL AND expires_at < {{now}}) "
            f"FROM {TABLE} WHERE {_SCOPE} ORDER BY shard_id",
            scope,
        )
        return [_lease(row) for row in rows]

    async def create_lease(
        self, scope: LeaseScope, shard_id: str, checkpoint: Checkpoint, parents: tuple[str, ...]
    ) -> bool:
        rows = await self._rows(
            f"INSERT INTO {TABLE} (application, stream, shard_id, owner, counter, checkpoint, "
            "sub_sequence, parent_shard_ids) VALUES (:application, :stream, :shard_id, NULL, 0, "
            ":checkpoint, :sub_sequence, :parents) ON CONFLICT DO NOTHING RETURNING shard_id",
            scope,
            shard_id=shard_id,
            checkpoint=checkpoint.encode(),
            sub_sequence=checkpoint.sub_sequence,
            parents=",".join(parents),
        )
        return bool(rows)

    def _update(self, assignments: str, condition: str) -> str:
        return (
            f"UPDATE {TABLE} SET {assignments} WHERE {_ROW} AND {condition} "
            f"RETURNING {_COLUMNS}, (expires_at IS NOT NULL AND expires_at < {{now}})"
        )

    async def renew(
        self, scope: LeaseScope, shard_id: str, owner: str, counter: int, duration: float
    ) -> Lease | None:
        return await self._one(
            self._update(
                "counter = counter + 1, expires_at = {expiry}",
                "owner = :owner AND counter = :counter",
            ),
            scope,
            shard_id=shard_id,
            owner=owner,
            counter=counter,
            duration=duration,
        )

    async def take(
        self, scope: LeaseScope, shard_id: str, counter: int, owner: str, duration: float
    ) -> Lease | None:
        return await self._one(
            self._update(
                "owner = :owner, counter = counter + 1, pending_owner = NULL, "
                "expires_at = {expiry}",
                "counter = :counter AND checkpoint <> 'SHARD_END'",
            ),
            scope,
            shard_id=shard_id,
            owner=owner,
            counter=counter,
            duration=duration,
        )

    async def request_handoff(
        self, scope: LeaseScope, shard_id: str, owner: str, requester: str
    ) -> Lease | None:
        return await self._one(
            self._update(
                "pending_owner = :requester",
                "owner = :owner AND pending_owner IS NULL AND checkpoint <> 'SHARD_END'",
            ),
            scope,
            shard_id=shard_id,
            owner=owner,
            requester=requester,
        )

    async def hand_over(
        self, scope: LeaseScope, shard_id: str, owner: str, counter: int, duration: float
    ) -> Lease | None:
        return await self._one(
            self._update(
                "owner = pending_owner, pending_owner = NULL, counter = counter + 1, "
                "expires_at = {expiry}",
                "owner = :owner AND counter = :counter AND pending_owner IS NOT NULL",
            ),
            scope,
            shard_id=shard_id,
            owner=owner,
            counter=counter,
            duration=duration,
        )

    async def checkpoint(
        self, scope: LeaseScope, shard_id: str, owner: str, counter: int, checkpoint: Checkpoint
    ) -> Lease | None:
        return await self._one(
            self._update(
                "checkpoint = :checkpoint, sub_sequence = :sub_sequence, counter = counter + 1",
                "owner = :owner AND counter = :counter",
            ),
            scope,
            shard_id=shard_id,
            owner=owner,
            counter=counter,
            checkpoint=checkpoint.encode(),
            sub_sequence=checkpoint.sub_sequence,
        )

    async def release(
        self, scope: LeaseScope, shard_id: str, owner: str, counter: int
    ) -> Lease | None:
        return await self._one(
            self._update(
                "owner = NULL, pending_owner = NULL, counter = counter + 1, expires_at = NULL",
                "owner = :owner AND counter = :counter",
            ),
            scope,
            shard_id=shard_id,
            owner=owner,
            counter=counter,
        )

    async def delete_lease(self, scope: LeaseScope, shard_id: str) -> None:
        await self._rows(f"DELETE FROM {TABLE} WHERE {_ROW}", scope, shard_id=shard_id)


def _lease(row: tuple) -> Lease:
    shard_id, owner, counter, checkpoint, sub_sequence, parents, pending, expired = row
    return Lease(
        shard_id=shard_id,
        owner=owner,
        counter=int(counter),
        checkpoint=Checkpoint.decode(checkpoint, int(sub_sequence)),
        parent_shard_ids=tuple(p for p in parents.split(",") if p),
        pending_owner=pending,
        expired=bool(expired),
    )
