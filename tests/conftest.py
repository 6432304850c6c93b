"""Shared fixtures: one real server for the session, unique stream names per test."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server import HeadwaterServer

_names = itertools.count()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HeadwaterServer]:
    """The server under test: embedded storage, AWS limits, a clock tests can advance."""
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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).parent.name == "server":
            item.add_marker(pytest.mark.integration)
