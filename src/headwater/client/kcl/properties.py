"""Reading a KCL MultiLangDaemon ``.properties`` file into consumer settings.

Java ``.properties`` syntax (comments, ``=``/``:``/space separators, backslash
continuations and escapes) and the KCL's property names, so an existing file works as is.
Headwater adds ``headwaterLeaseStore`` (a SQLite path or a ``postgresql://`` URL; the KCL's
DynamoDB table has no equivalent here). Unknown properties are ignored, as the KCL does.
"""

from __future__ import annotations

import logging
import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from headwater.client.consumer.config import FANOUT, POLLING, ConsumerConfig

log = logging.getLogger(__name__)

_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}


def _unescape(text: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char != "\\" or i + 1 == len(text):
            out.append(char)
            i += 1
            continue
        nxt = text[i + 1]
        if nxt == "u" and i + 6 <= len(text):
            out.append(chr(int(text[i + 2 : i + 6], 16)))
            i += 6
            continue
        out.append(_ESCAPES.get(nxt, nxt))
        i += 2
    return "".join(out)


def _logical_lines(text: str) -> list[str]:
    """Physical lines joined where a line ends in an odd number of backslashes."""
    lines: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.lstrip() if pending else raw.strip()
        if not pending and (not line or line[0] in "#!"):
            continue
        trailing = len(line) - len(line.rstrip("\\"))
        if trailing % 2:
            pending += line[:-1]
            continue
        lines.append(pending + line)
        pending = ""
    if pending:
        lines.append(pending)
    return lines


def parse_properties(text: str) -> dict[str, str]:
    properties: dict[str, str] = {}
    for line in _logical_lines(text):
        key_end = len(line)
        i = 0
        while i < len(line):
            if line[i] == "\\":
                i += 2
                continue
            if line[i] in "=: \t":
                key_end = i
                break
            i += 1
        rest = line[key_end:].lstrip(" \t")
        if rest[:1] in ("=", ":"):
            rest = rest[1:].lstrip(" \t")
        properties[_unescape(line[:key_end])] = _unescape(rest)
    return properties


def _seconds(properties: dict[str, str], name: str, default: float) -> float:
    value = properties.get(name)
    return default if value in (None, "") else int(value) / 1000


def _flag(properties: dict[str, str], name: str) -> bool:
    return properties.get(name, "false").strip().lower() == "true"


def executable_command(executable: str, base: Path) -> list[str]:
    """``executableName`` as a command: scripts beside the file run with this Python."""
    parts = shlex.split(executable)
    if not parts:
        raise ValueError("executableName is empty")
    first = Path(parts[0])
    for candidate in (base / first, first):
        if candidate.is_file():
            parts[0] = str(candidate.resolve())
            break
    else:
        found = shutil.which(parts[0])
        if found:
            parts[0] = found
    if parts[0].endswith(".py"):
        parts.insert(0, sys.executable)
    return parts


@dataclass(frozen=True, slots=True)
class KclSettings:
    command: list[str]
    stream: str
    application: str
    config: ConsumerConfig
    region: str | None
    endpoint_url: str | None
    lease_store: str

    @classmethod
    def load(cls, path: Path) -> KclSettings:
        return cls.from_properties(parse_properties(path.read_text()), path.parent)

    @classmethod
    def from_properties(cls, properties: dict[str, str], base: Path) -> KclSettings:
        for required in ("executableName", "applicationName"):
            if not properties.get(required):
                raise ValueError(f"{required} is required")
        stream = properties.get("streamArn") or properties.get("streamName")
        if not stream:
            raise ValueError("streamName or streamArn is required")
        application = properties["applicationName"]
        position = properties.get("initialPositionInStream", "LATEST").strip().upper()
        timestamp = properties.get("initialPositionInStreamExtended")
        if timestamp:
            position = "AT_TIMESTAMP"
        retrieval = properties.get("retrievalMode", "POLLING").strip().upper()
        max_leases = properties.get("maxLeasesForWorker")
        config = ConsumerConfig(
            initial_position=position,
            initial_timestamp=float(timestamp) if timestamp else None,
            worker_id=properties.get("workerId") or None,
            failover_time=_seconds(properties, "failoverTimeMillis", 10.0),
            shard_sync_interval=_seconds(properties, "shardSyncIntervalMillis", 60.0),
            max_records=int(properties.get("maxRecords") or 10_000),
            idle_time_between_reads=_seconds(properties, "idleTimeBetweenReadsInMillis", 1.0),
            call_process_records_even_for_empty_list=_flag(
                properties, "callProcessRecordsEvenForEmptyRecordList"
            ),
            retrieval=FANOUT if retrieval == "FANOUT" else POLLING,
            consumer_name=properties.get("applicationName"),
            max_leases_per_worker=int(max_leases) if max_leases else None,
            backoff_base=_seconds(properties, "taskBackoffTimeMillis", 0.5),
        )
        lease_store = properties.get("headwaterLeaseStore") or str(
            base / f"{application}.leases.sqlite"
        )
        return cls(
            command=executable_command(properties["executableName"], base),
            stream=stream,
            application=application,
            config=config,
            region=properties.get("regionName") or None,
            endpoint_url=properties.get("kinesisEndpoint") or None,
            lease_store=lease_store,
        )
