"""One real server for the dashboard tests, and an HTTP client for its dashboard routes."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.server import HeadwaterServer


@pytest.fixture(scope="session")
def dashboard_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HeadwaterServer]:
    """Its own server: no other test's streams or dev-clock moves in the dashboard's view."""
    running = HeadwaterServer(tmp_path_factory.mktemp("dashboard") / "data").start()
    yield running
    running.stop()


@pytest.fixture
def http(dashboard_server: HeadwaterServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=dashboard_server.endpoint, timeout=10) as client:
        yield client


@pytest.fixture
def kinesis(dashboard_server: HeadwaterServer):
    return dashboard_server.client()
