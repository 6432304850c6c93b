"""The delivery config file, path templates and the schema policy (no server)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from headwater.delivery.config import ConfigError, load_config, parse_config
from headwater.delivery.formats import Schema, TypeConflict
from headwater.delivery.paths import PartitionError, parse_event_time, render

EXAMPLE = """
[kinesis]
endpoint_url = "http://127.0.0.1:4567"
region = "us-east-1"
lease_store = "delivery-leases.sqlite"

[[delivery]]
name = "sensors-lake"
stream = "sensors"
destination = "lake"
format = "parquet"
prefix = "sensors/!{timestamp:yyyy/MM/dd/HH}/!{partitionKeyFromQuery:source_type}/"
error_prefix = "errors/!{error}/!{timestamp:yyyy/MM/dd}/"
event_time_field = "ts"
buffer_bytes = 5_000_000
buffer_interval = 60
transform = "tests.delivery.transforms:by_remainder"

[[delivery]]
name = "card-features"
stream = "payments"
event_time_field = "ts"
buffer_interval = 1

[delivery.online_store]
store = "features.sqlite"
table = "cards"
key_field = "card_id"
ttl = 86400
"""


def test_example_config_loads(tmp_path: Path):
    path = tmp_path / "delivery.toml"
    path.write_text(EXAMPLE)
    config = load_config(path)
    lake, features = config.deliveries
    assert config.endpoint_url == "http://127.0.0.1:4567"
    assert config.lease_store == str(tmp_path / "delivery-leases.sqlite")
    assert lake.kind == "files" and lake.format == "parquet"
    assert lake.destination == str(tmp_path / "lake")
    assert features.kind == "online_store" and features.online_store is not None
    assert features.online_store.store == str(tmp_path / "features.sqlite")
    assert features.online_store.ttl == 86400


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "no \\[\\[delivery\\]\\]"),
        ({"delivery": [{"name": "x"}]}, "stream"),
        ({"delivery": [{"name": "x", "stream": "s"}]}, "destination"),
        (
            {"delivery": [{"name": "x", "stream": "s", "destination": "d", "format": "csv"}]},
            "format",
        ),
        ({"delivery": [{"name": "x", "stream": "s", "destination": "d", "bogus": 1}]}, "bogus"),
        ({"delivery": [{"name": "x", "stream": "s", "online_store": {"table": "t"}}]}, "key_field"),
        (
            {"delivery": [{"name": "x", "stream": "s", "destination": "d", "prefix": "!{foo:x}/"}]},
            "foo",
        ),
        (
            {
                "delivery": [
                    {
                        "name": "x",
                        "stream": "s",
                        "destination": "d",
                        "error_prefix": "!{partitionKeyFromQuery:a}/",
                    }
                ]
            },
            "partitionKeyFromQuery",
        ),
    ],
)
def test_bad_configs_are_refused(data, message):
    with pytest.raises(ConfigError, match=message):
        parse_config(data)


def test_render_paths():
    when = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    template = "x/!{timestamp:yyyy/MM/dd/HH}/!{partitionKeyFromQuery:meta.kind}/"
    assert render(template, when, {"meta": {"kind": "a/b c"}}) == "x/2026/03/04/05/a_b_c/"
    assert render("!{timestamp:yyyy-MM-dd HH:mm:ss}", when, {}) == "2026-03-04 05:06:07"
    with pytest.raises(PartitionError):
        render("!{partitionKeyFromQuery:missing}/", when, {})
    assert parse_event_time(1_772_600_767) == parse_event_time(1_772_600_767_000)
    assert parse_event_time("2026-03-04T05:06:07Z") == when


def test_schema_evolution_policy():
    schema = Schema()
    assert schema.evolve([{"a": 1, "b": None}, {"b": "x", "c": 1.5}])
    assert schema.columns == {"a": "int64", "b": "string", "c": "float64"}
    assert not schema.evolve([{"a": 2}])
    assert schema.conform({"a": 1, "c": 2}) == {"a": 1, "b": None, "c": 2.0}
    with pytest.raises(TypeConflict, match="'a'"):
        schema.conform({"a": "one"})
    with pytest.raises(TypeConflict):
        schema.conform({"a": True})  # a bool is not an int64
