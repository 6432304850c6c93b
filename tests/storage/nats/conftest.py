"""Fixtures for the NATS backend: storages under test, and Headwater servers on the cluster.

Every ``HeadwaterServer`` started in this package stores on the session's 3-node cluster
(R3), whatever HEADWATER_TEST_STORAGE says.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from headwater.storage.base import Storage
from headwater.storage.local import LocalStorage
from headwater.storage.nats import NatsStorage, parse_storage_url
from tests.support.nats_cluster import NatsCluster
from tests.support.server import NATS_URL_VARIABLE, HeadwaterServer

_prefixes = itertools.count()

StorageFactory = Callable[[], Storage]


@pytest.fixture(params=["local", "nats"])
async def open_storage(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[StorageFactory]:
    """Opens a ``Storage`` over the same place each call (a reopen after a restart)."""
    opened: list[Storage] = []
    if request.param == "local":

        def make() -> Storage:
            return LocalStorage(tmp_path)
    else:
        cluster: NatsCluster = request.getfixturevalue("nats_cluster")
        url = f"{cluster.storage_url(replicas=3)}&prefix=c{next(_prefixes)}"

        def make() -> Storage:
            return NatsStorage(parse_storage_url(url))

    def tracked() -> Storage:
        storage = make()
        opened.append(storage)
        return storage

    yield tracked
    for storage in opened:
        await storage.close()


@pytest.fixture(scope="package", autouse=True)
def nats_storage(nats_cluster: NatsCluster) -> Iterator[str]:
    """Point every ``HeadwaterServer`` of this package at the cluster."""
    url = nats_cluster.storage_url(replicas=3)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(NATS_URL_VARIABLE, url)
        yield url


@pytest.fixture(scope="package")
def server(
    nats_storage: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[HeadwaterServer]:
    """One server on NATS storage, with the same options as the default session server."""
    running = HeadwaterServer(tmp_path_factory.mktemp("nats-server") / "data", "--dev-clock")
    yield running.start()
    running.stop()


@pytest.fixture(scope="package")
def kinesis(server: HeadwaterServer):
    return server.client()
