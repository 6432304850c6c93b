"""The KCL MultiLangDaemon protocol: one child process per shard, JSON lines both ways.

We write one action per line (``initialize``, ``processRecords``, ``leaseLost``,
``shardEnded``, ``shutdownRequested``); the child answers each with
``{"action": "status", "responseFor": <action>}``, and may first send
``{"action": "checkpoint", ...}`` requests, which we perform and answer with a
``checkpoint`` message (``error`` naming the KCL exception if it failed). Lines that are
not JSON actions (the child's own prints) are skipped, as the Java daemon does.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging

from headwater.client.consumer.checkpointer import Checkpointer
from headwater.client.consumer.leases.store import LeaseStoreError
from headwater.client.consumer.processor import (
    InitializationInput,
    ProcessRecordsInput,
    RecordProcessorBase,
)
from headwater.client.errors import InvalidCheckpointError, LeaseLostError, ProcessorFailedError
from headwater.client.records import Record

log = logging.getLogger(__name__)

LINE_LIMIT = 64 * 1024 * 1024
EXIT_GRACE = 10.0


def record_message(record: Record) -> dict[str, object]:
    return {
        "action": "record",
        "data": base64.b64encode(record.data).decode(),
        "partitionKey": record.partition_key,
        "sequenceNumber": record.sequence_number,
        "subSequenceNumber": record.sub_sequence_number,
        "approximateArrivalTimestamp": record.arrival_millis,
    }


def checkpoint_error(error: Exception) -> str:
    """The KCL exception name a kclpy ``CheckpointError`` carries."""
    if isinstance(error, LeaseLostError):
        return "ShutdownException"
    if isinstance(error, InvalidCheckpointError):
        return "InvalidStateException"
    if isinstance(error, LeaseStoreError):
        return "KinesisClientLibDependencyException"
    return "KinesisClientLibNonRetryableException"


class MultiLangProcessor(RecordProcessorBase):
    """A record processor that forwards every call to a child process."""

    def __init__(self, command: list[str]) -> None:
        self.command = command
        self._process: asyncio.subprocess.Process | None = None

    async def _start(self) -> asyncio.subprocess.Process:
        try:
            self._process = await asyncio.create_subprocess_exec(
                *self.command,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                limit=LINE_LIMIT,
            )
        except OSError as exc:
            raise ProcessorFailedError(f"cannot start {self.command[0]}: {exc}") from exc
        return self._process

    async def _send(self, message: dict[str, object]) -> None:
        process = self._process
        if process is None or process.stdin is None or process.returncode is not None:
            raise ProcessorFailedError("the record processor process is not running")
        try:
            process.stdin.write(json.dumps(message).encode() + b"\n")
            await process.stdin.drain()
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise ProcessorFailedError(f"record processor exited: {exc}") from exc

    async def _receive(self) -> dict[str, object]:
        process = self._process
        assert process is not None and process.stdout is not None
        while True:
            line = await process.stdout.readline()
            if not line:
                code = await process.wait()
                raise ProcessorFailedError(f"record processor exited with code {code}")
            text = line.strip()
            if not text:
                continue
            try:
                message = json.loads(text)
            except ValueError:
                log.info("record processor said: %s", text[:500].decode(errors="replace"))
                continue
            if isinstance(message, dict) and "action" in message:
                return message
            log.info("record processor said: %s", text[:500].decode(errors="replace"))

    async def _exchange(
        self, message: dict[str, object], checkpointer: Checkpointer | None = None
    ) -> None:
        """Send an action and serve checkpoint requests until the child reports it done."""
        action = message["action"]
        await self._send(message)
        while True:
            reply = await self._receive()
            kind = reply.get("action")
            if kind == "status" and reply.get("responseFor") == action:
                return
            if kind == "checkpoint":
                await self._checkpoint(reply, checkpointer)
            else:
                log.warning("unexpected message from record processor: %s", reply)

    async def _checkpoint(self, request: dict, checkpointer: Checkpointer | None) -> None:
        sequence = request.get("sequenceNumber")
        sub_sequence = request.get("subSequenceNumber")
        answer: dict[str, object] = {
            "action": "checkpoint",
            "sequenceNumber": sequence,
            "subSequenceNumber": sub_sequence,
        }
        try:
            if checkpointer is None:
                raise LeaseLostError("no checkpointing outside a checkpointable call")
            await checkpointer.checkpoint(
                None if sequence is None else str(sequence),
                None if sub_sequence is None else int(sub_sequence),
            )
        except (LeaseLostError, InvalidCheckpointError, LeaseStoreError) as exc:
            answer["error"] = checkpoint_error(exc)
            log.info("checkpoint refused (%s): %s", answer["error"], exc)
        await self._send(answer)

    async def _finish(self) -> None:
        """Close the child's input and let it exit (killed if it will not)."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()
        try:
            async with asyncio.timeout(EXIT_GRACE):
                await process.wait()
        except TimeoutError:
            process.kill()
            await process.wait()

    # -- the processor interface ---------------------------------------------------------

    async def initialize(self, initialization: InitializationInput) -> None:
        await self._start()
        checkpoint = initialization.checkpoint
        await self._exchange(
            {
                "action": "initialize",
                "shardId": initialization.shard_id,
                "sequenceNumber": checkpoint.sequence,
                "subSequenceNumber": checkpoint.sub_sequence,
            }
        )

    async def process_records(self, batch: ProcessRecordsInput) -> None:
        await self._exchange(
            {
                "action": "processRecords",
                "millisBehindLatest": batch.millis_behind_latest or 0,
                "records": [record_message(record) for record in batch.records],
            },
            batch.checkpointer,
        )

    async def lease_lost(self) -> None:
        try:
            await self._exchange({"action": "leaseLost"})
        finally:
            await self._finish()

    async def shard_ended(self, checkpointer: Checkpointer) -> None:
        await self._exchange({"action": "shardEnded"}, checkpointer)
        if checkpointer.current.is_shard_end:
            await self._finish()

    async def shutdown_requested(self, checkpointer: Checkpointer) -> None:
        try:
            await self._exchange({"action": "shutdownRequested"}, checkpointer)
        finally:
            await self._finish()
