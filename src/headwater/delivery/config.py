"""The delivery configuration file (TOML): connection settings and ``[[delivery]]`` tables."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from headwater.config_files import read_toml

FORMATS = ("jsonl", "parquet")
KINDS = ("files", "online_store")
COLUMN_TYPES = ("bool", "int64", "float64", "string", "json")


class ConfigError(ValueError):
    """A delivery configuration that cannot be used."""


@dataclass(frozen=True, slots=True)
class OnlineStoreTarget:
    store: str  # "sqlite:///path", a plain path, or "redis://host:port/db"
    table: str
    key_field: str
    ttl: float | None = None


@dataclass(frozen=True, slots=True)
class DeliveryStream:
    name: str
    stream: str
    kind: str = "files"
    destination: str = ""  # fsspec URL of the root: file:///data/lake, s3://bucket/lake
    prefix: str = "!{timestamp:yyyy/MM/dd/HH}/"
    error_prefix: str = "errors/!{timestamp:yyyy/MM/dd/HH}/"
    format: str = "jsonl"
    buffer_bytes: int = 5 * 1024 * 1024
    buffer_interval: float = 60.0
    event_time_field: str | None = None
    transform: str | None = None
    storage_options: dict[str, Any] = field(default_factory=dict)
    online_store: OnlineStoreTarget | None = None
    retrieval: str = "polling"
    consumer_name: str | None = None
    failover_time: float = 10.0
    initial_position: str = "TRIM_HORIZON"
    schema: dict[str, str] | None = None  # Parquet: column → type; inferred when absent
    evolve_schema: bool = True  # add new fields as nullable columns (else ignore them)


@dataclass(frozen=True, slots=True)
class DeliveryConfig:
    deliveries: list[DeliveryStream]
    endpoint_url: str | None = None
    region: str = "us-east-1"
    lease_store: str = "headwater-delivery-leases.sqlite"


_EXPRESSION = re.compile(r"!\{([A-Za-z]+)(?::[^}]*)?\}")


def _check_template(name: str, setting: str, template: str, allowed: tuple[str, ...]) -> None:
    for kind in _EXPRESSION.findall(template):
        if kind not in allowed:
            raise ConfigError(f"{name}: !{{{kind}}} is not allowed in {setting}")


def _stream(table: dict[str, Any], base: Path) -> DeliveryStream:
    table = dict(table)
    for required in ("name", "stream"):
        if not isinstance(table.get(required), str) or not table[required]:
            raise ConfigError(f"[[delivery]] needs a '{required}'")
    name = table["name"]
    kind = table.get("kind", "online_store" if "online_store" in table else "files")
    if kind not in KINDS:
        raise ConfigError(f"{name}: kind must be one of {KINDS}")
    online = None
    if kind == "online_store":
        spec = table.pop("online_store", None)
        if not isinstance(spec, dict) or "table" not in spec or "key_field" not in spec:
            raise ConfigError(f"{name}: [delivery.online_store] needs 'table' and 'key_field'")
        store = str(spec.get("store", "online-store.sqlite"))
        if "://" not in store:
            store = str((base / store).resolve())
        online = OnlineStoreTarget(store, spec["table"], spec["key_field"], spec.get("ttl"))
    elif not table.get("destination"):
        raise ConfigError(f"{name}: files delivery needs a 'destination'")
    destination = str(table.get("destination", ""))
    if destination and "://" not in destination:
        destination = str((base / destination).resolve())
    if table.get("format", "jsonl") not in FORMATS:
        raise ConfigError(f"{name}: format must be one of {FORMATS}")
    known = set(DeliveryStream.__dataclass_fields__)
    unknown = set(table) - known - {"kind", "online_store"}
    if unknown:
        raise ConfigError(f"{name}: unknown settings {sorted(unknown)}")
    values = {k: v for k, v in table.items() if k in known}
    values.update(kind=kind, destination=destination, online_store=online)
    stream = DeliveryStream(**values)
    if stream.schema is not None:
        bad = {k: v for k, v in stream.schema.items() if v not in COLUMN_TYPES}
        if bad:
            raise ConfigError(f"{name}: schema types must be one of {COLUMN_TYPES}: {bad}")
    _check_template(name, "prefix", stream.prefix, ("timestamp", "partitionKeyFromQuery"))
    _check_template(name, "error_prefix", stream.error_prefix, ("timestamp", "error"))
    if stream.buffer_bytes <= 0 or stream.buffer_interval <= 0:
        raise ConfigError(f"{name}: buffer_bytes and buffer_interval must be positive")
    return stream


def parse_config(data: dict[str, Any], base: Path = Path(".")) -> DeliveryConfig:
    kinesis = data.get("kinesis", {})
    deliveries = [_stream(table, base) for table in data.get("delivery", [])]
    if not deliveries:
        raise ConfigError("no [[delivery]] table")
    names = [d.name for d in deliveries]
    if len(set(names)) != len(names):
        raise ConfigError("delivery names must be unique")
    lease_store = str(kinesis.get("lease_store", "headwater-delivery-leases.sqlite"))
    if "://" not in lease_store:
        lease_store = str((base / lease_store).resolve())
    return DeliveryConfig(
        deliveries,
        endpoint_url=kinesis.get("endpoint_url"),
        region=kinesis.get("region", "us-east-1"),
        lease_store=lease_store,
    )


def load_config(path: str | Path) -> DeliveryConfig:
    path = Path(path)
    return parse_config(read_toml(path, ConfigError), path.parent)
