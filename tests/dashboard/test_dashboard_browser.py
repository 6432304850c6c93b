"""The dashboard in headless Chromium: it shows what the test does to a real server, live.

Needs Debian's ``chromium`` and ``chromium-driver`` (``scripts/browser`` installs them; this
test runs it when they are missing and skips only if that fails). Screenshots go to
``$HEADWATER_ARTIFACTS`` (default ``tests/artifacts/``).
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.support.server import HeadwaterServer

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
WAIT_S = 15
WRITE_FOR_S = 20  # the background writer's hard stop, whatever happens to the test


def _artifacts() -> Path:
    directory = Path(os.environ.get("HEADWATER_ARTIFACTS", ROOT / "tests" / "artifacts"))
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _ensure_browser() -> None:
    if CHROMIUM.exists() and CHROMEDRIVER.exists():
        return
    done = subprocess.run(
        [str(ROOT / "scripts" / "browser")], capture_output=True, text=True, timeout=600
    )
    if done.returncode != 0 or not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.skip(f"chromium could not be installed by scripts/browser: {done.stderr[-500:]}")


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    _ensure_browser()
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1440,1300",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


class Writer(threading.Thread):
    """Puts small batches until stopped (or for WRITE_FOR_S at most)."""

    def __init__(self, kinesis, stream: str) -> None:
        super().__init__(daemon=True)
        self.kinesis, self.stream = kinesis, stream
        self.stop = threading.Event()

    def run(self) -> None:
        deadline = time.monotonic() + WRITE_FOR_S
        n = 0
        while not self.stop.is_set() and time.monotonic() < deadline:
            records = [
                {"Data": f'{{"reading": {n + i}}}'.encode(), "PartitionKey": f"device-{i % 7}"}
                for i in range(20)
            ]
            self.kinesis.put_records(StreamName=self.stream, Records=records)
            n += 20
            self.stop.wait(0.05)  # pacing, not waiting for a condition


def _console_errors(driver: webdriver.Chrome) -> list[dict]:
    return [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def _click(driver: webdriver.Chrome, selector: str) -> bool:
    driver.find_element(By.CSS_SELECTOR, selector).click()
    return True


def _shards(driver: webdriver.Chrome) -> list[tuple[str, str]]:
    groups = driver.find_elements(By.CSS_SELECTOR, "#shardmap g.shard")
    return [(g.get_attribute("data-shard-id"), g.get_attribute("data-open")) for g in groups]


def test_dashboard_follows_a_stream_live(
    browser: webdriver.Chrome, dashboard_server: HeadwaterServer, kinesis
) -> None:
    try:
        _follow_a_stream(browser, dashboard_server, kinesis)
    finally:
        browser.save_screenshot(str(_artifacts() / "dashboard.png"))  # the last state, pass or fail
    browser.find_element(By.ID, "records-card").screenshot(
        str(_artifacts() / "dashboard-records.png")
    )
    assert _console_errors(browser) == []


def _follow_a_stream(browser: webdriver.Chrome, server: HeadwaterServer, kinesis) -> None:
    # Panels are redrawn as updates arrive: an element found a moment ago may be gone.
    wait = WebDriverWait(
        browser, WAIT_S, poll_frequency=0.1, ignored_exceptions=(StaleElementReferenceException,)
    )
    browser.get(server.endpoint + "/")
    wait.until(lambda d: d.find_element(By.ID, "connection").get_attribute("data-state") == "live")

    stream = f"sensors-{uuid.uuid4().hex[:6]}"
    kinesis.create_stream(StreamName=stream, ShardCount=1)
    summary = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]
    kinesis.register_stream_consumer(StreamARN=summary["StreamARN"], ConsumerName="fraud-model")
    wait.until(lambda d: _click(d, f'tr[data-stream="{stream}"]'))
    wait.until(lambda d: d.find_element(By.ID, "detail-name").text == stream)

    writer = Writer(kinesis, stream)
    writer.start()
    try:
        chart = browser.find_element(By.ID, "chart-records")
        wait.until(lambda d: float(chart.get_attribute("data-latest") or 0) > 0)

        marker = f"hello-dashboard-{uuid.uuid4().hex[:8]}"
        kinesis.put_record(
            StreamName=stream, Data=f'{{"note": "{marker}"}}'.encode(), PartitionKey="sensor-42"
        )
        key_filter = browser.find_element(By.CSS_SELECTOR, '#record-filters input[name="key"]')
        key_filter.send_keys("sensor-42")
        wait.until(lambda d: marker in d.find_element(By.ID, "records").text)

        wait.until(lambda d: _shards(d) == [("shardId-000000000000", "true")])
        kinesis.split_shard(
            StreamName=stream, ShardToSplit="shardId-000000000000", NewStartingHashKey=str(2**127)
        )
        wait.until(lambda d: sorted(open_ for _, open_ in _shards(d)) == ["false", "true", "true"])

        key_filter.clear()
        wait.until(lambda d: "device-" in d.find_element(By.ID, "records").text)
    finally:
        writer.stop.set()
        writer.join(timeout=10)
