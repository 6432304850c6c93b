"""Shared fixtures: one real server for the session, unique stream names per test.

``HEADWATER_TEST_STORAGE=nats`` runs the session's server on NATS JetStream (a 3-node
cluster, R3) instead of embedded storage, so the whole integration suite covers both.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.nats_cluster import NatsCluster
from tests.support.server import NATS_URL_VARIABLE, HeadwaterServer

_names = itertools.count()
STORAGE = os.environ.get("HEADWATER_TEST_STORAGE", "local")
if STORAGE not in ("local", "nats"):
    raise pytest.UsageError(f"HEADWATER_TEST_STORAGE must be local or nats, not {STORAGE}")


@pytest.fixture(scope="session")
def nats_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsCluster]:
    """Three clustered JetStream servers on free loopback ports, for the whole session."""
    cluster = NatsCluster(tmp_path_factory.mktemp("nats")).start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session", autouse=STORAGE == "nats")
def nats_backed_servers(request: pytest.FixtureRequest) -> Iterator[None]:
    """With HEADWATER_TEST_STORAGE=nats, every test server stores on the cluster (R3)."""
    cluster: NatsCluster = request.getfixturevalue("nats_cluster")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(NATS_URL_VARIABLE, cluster.storage_url(replicas=3))
        yield


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HeadwaterServer]:
    """The server under test: embedded storage (or NATS), AWS limits, an advanceable clock."""
    running = HeadwaterServer(tmp_path_factory.mktemp("server") / "data", "--dev-clock").start()
    yield running
    running.stop()


@pytest.fixture(scope="session")
def kinesis(server: HeadwaterServer):
    return server.client()


@pytest.fixture
def stream_name(request: pytest.FixtureRequest) -> str:
    """A stream name no other test uses."""
    base = request.node.name.replace("[", "-").replace("]", "").replace("/", "-")
    return f"{base[:100]}-{next(_names)}"


# Tests that look inside embedded storage's files: nothing to look at on NATS.
LOCAL_FILES_ONLY = {
    "tests/server/test_encryption.py::test_encrypted_records_are_sealed_on_disk_and_read_back",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).parent.name == "server":
            item.add_marker(pytest.mark.integration)
        if STORAGE == "nats" and item.nodeid in LOCAL_FILES_ONLY:
            item.add_marker(pytest.mark.skip(reason="inspects embedded storage's segment files"))
