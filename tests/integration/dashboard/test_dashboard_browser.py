"""The dashboard page in a real headless Chromium (Debian's chromium + chromedriver through Selenium), served by the
devhost running ``function_app.py`` on Azurite and the HTTPS ASR emulator. ``make test`` installs the browser.

Screenshots (desktop and phone widths) are written to ``tests/artifacts/`` for review.
"""

from __future__ import annotations

import json
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from devhost.appenv import app_env
from devhost.launcher import DevhostInfo, running_devhost
from devhost.local import local_settings
from emulator.launcher import EmulatorInfo, running_emulator
from tests.integration.api.over_http import HOST_JSON
from tests.integration.monitoring.conftest import CACHE_WUS, topology
from tests.integration.workflows.conftest import TIMING

pytestmark = pytest.mark.integration

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
POLICY = {"regions": {"eastus": {"targets": [{"vms": ["vm1", "vm2"]}]}}}
_T = TypeVar("_T")


def _browser() -> webdriver.Chrome:
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not driver:  # fail loudly, never skip: `make test` installs them
        pytest.fail("Debian's chromium and chromium-driver are required (make test installs them)", pytrace=False)
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(flag)
    return webdriver.Chrome(options=options, service=Service(driver))


@pytest.fixture
def stack(storage_connection_string: str, tmp_path: Path) -> Iterator[tuple[DevhostInfo, EmulatorInfo]]:
    with running_emulator(topology(["vm1", "vm2"]), time_scale=300.0) as emu:
        name = "d" + uuid.uuid4().hex[:12]
        settings = replace(
            local_settings(emu, storage_connection_string, work_queue=name, runs_table=f"{name}runs",
                           run_index_table=f"{name}idx", locks_table=f"{name}locks", readiness_table=f"{name}rd",
                           asr_cache_storage_accounts=f"westus={CACHE_WUS}", timer_scale=0.01),
            status_cache_seconds=0.3, readiness_schedule="0 0 3 * * *",
        )  # fmt: skip
        (tmp_path / "host.json").write_text(json.dumps(HOST_JSON))
        env = {**app_env(settings), "DR_POLICY": json.dumps(POLICY)}
        with running_devhost(env=env, script_root=tmp_path) as host:
            yield host, emu


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    driver = _browser()
    try:
        yield driver
    finally:
        driver.quit()


def _until(what: str, probe: Callable[[], _T | None], deadline_s: float = 60.0) -> _T:
    deadline = time.monotonic() + deadline_s
    while True:
        value = probe()
        if value is not None and value is not False:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


# The page re-renders every refresh: read it in one script call, never through element handles that go stale.
_TILES = """return Object.fromEntries([...document.querySelectorAll('.tile li')].map(
    (li) => [li.id, {count: Number(li.querySelector('.count').textContent), text: li.textContent,
                     title: li.title}]));"""
_PCT = """const cell = document.querySelector('.run .vm[data-vm="' + arguments[0] + '"] .pct');
return cell ? cell.textContent : null;"""


def _tiles(page: webdriver.Chrome) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = page.execute_script(_TILES)
    return found


def _count(page: webdriver.Chrome, tile: str, segment: str) -> int:
    return int(_tiles(page)[f"tile-{tile}-{segment}"]["count"])


def _status(host: DevhostInfo) -> dict[str, Any]:
    code, _, body = host.request("GET", "/api/status", key=host.function_key)
    assert code == 200, body
    answer: dict[str, Any] = json.loads(body)
    return answer


def _pct(page: webdriver.Chrome, vm: str) -> int | None:
    text = (page.execute_script(_PCT, vm) or "").replace("%", "").strip()
    return int(text) if text.isdigit() else None


def test_the_dashboard_shows_the_status_live(stack: tuple[DevhostInfo, EmulatorInfo], browser: Any) -> None:
    host, emu = stack
    assert host.request("POST", "/admin/functions/readiness_timer", {}, key=host.master_key)[0] == 202
    browser.set_window_size(1280, 1000)
    browser.get(f"{host.url}/api/dashboard?code={host.function_key}&refresh=0.5")
    _until("the first refresh", lambda: browser.find_element(By.ID, "updated").get_attribute("data-generated"))

    status = _status(host)  # nothing moves yet: the page and the API must agree number for number
    shown = _tiles(browser)
    for tile in ("replicatedItems", "failoverTestSuccess"):
        for segment, count in status["tiles"][tile]["counts"].items():
            assert shown[f"tile-{tile}-{segment}"]["count"] == count, (tile, segment)
    for segment, issue in status["tiles"]["configurationIssues"].items():
        assert shown[f"tile-configurationIssues-{segment}"]["count"] == issue["count"], segment
    assert shown["tile-replicatedItems-healthy"]["count"] == 2
    row = browser.execute_script("return document.querySelector('#readiness tr[data-target=\"vms:vm1,vm2\"]')"
                                 ".textContent")  # fmt: skip
    assert "Warning" in row and "last test failover" in row  # the state is written, not only coloured

    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "dashboard-desktop.png"))
    browser.set_window_size(390, 844)
    time.sleep(0.3)
    assert browser.execute_script("return document.documentElement.scrollWidth") <= 390 + 1  # no sideways scroll
    browser.save_screenshot(str(ARTIFACTS / "dashboard-phone.png"))
    browser.set_window_size(1280, 1000)

    emu.inject_health_issue("vm2")
    _until("vm2 Critical", lambda: _count(browser, "replicatedItems", "critical") == 1)
    critical = _tiles(browser)["tile-replicatedItems-critical"]
    assert "Critical" in critical["text"] and critical["title"] == "vm2"

    code, _, body = host.request("POST", "/api/failover", {"target": {"vms": ["vm1"]}, "timing": TIMING},
                                 key=host.function_key)  # fmt: skip
    assert code == 202, body
    first = _until("a reprotect % for vm1", lambda: _pct(browser, "vm1"), deadline_s=120)
    later = _until("the reprotect % to move", lambda: (p := _pct(browser, "vm1")) is not None and p != first and p,
                   deadline_s=120)  # fmt: skip
    assert later != first
    browser.save_screenshot(str(ARTIFACTS / "dashboard-running-failover.png"))
