"""The drill timer as deployed: ``python -m devhost`` serving ``function_app.py`` with ``DRILL_SCHEDULE`` and a
``DR_POLICY`` with a drill, on Azurite and the HTTPS ASR emulator. The host's admin API runs the timer now: the due
drill starts, the queue trigger drives it to its end, its report is served; the next tick starts nothing."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from devhost.appenv import app_env
from devhost.launcher import DevhostInfo, running_devhost
from devhost.local import local_settings
from emulator.launcher import running_emulator
from tests.integration.api.over_http import HOST_JSON
from tests.integration.workflows.conftest import NETWORK, topology

pytestmark = pytest.mark.integration

POLICY = {"drills": {"web": {"target": {"vms": ["web-1"]}, "everyDays": 30, "testNetworkId": NETWORK}}}


def _get(host: DevhostInfo, path: str) -> tuple[int, dict[str, str], bytes]:
    return host.request("GET", f"/api/{path}", key=host.function_key)


def _drill_runs(host: DevhostInfo) -> list[dict[str, Any]]:
    status, _, body = _get(host, "runs?kind=drill")
    assert status == 200, body
    runs: list[dict[str, Any]] = json.loads(body)["runs"]
    return runs


def _finished(host: DevhostInfo, run_id: str, deadline_s: float = 120.0) -> dict[str, Any]:
    deadline = time.monotonic() + deadline_s
    while True:
        view: dict[str, Any] = json.loads(_get(host, f"runs/{run_id}")[2])
        if view["status"] in ("succeeded", "failed", "cancelled", "partially-succeeded"):
            return view
        assert time.monotonic() < deadline, f"{view['status']} at {view['step']}\n{host.log()[-3000:]}"
        time.sleep(0.2)


def _wait_for_log(host: DevhostInfo, text: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while text not in host.log():
        assert time.monotonic() < deadline, f"{text!r} never appeared in the devhost log:\n{host.log()[-3000:]}"
        time.sleep(0.1)


def test_the_timer_starts_a_due_drill_once(storage_connection_string: str, tmp_path: Path) -> None:
    with running_emulator(topology(["web-1"]), time_scale=3000.0) as emu:
        name = "t" + uuid.uuid4().hex[:12]
        settings = local_settings(
            emu, storage_connection_string, timer_scale=0.01, work_queue=name, runs_table=f"{name}runs",
            run_index_table=f"{name}idx", locks_table=f"{name}locks",
        )  # fmt: skip
        (tmp_path / "host.json").write_text(json.dumps(HOST_JSON))
        env = {**app_env(settings), "DR_POLICY": json.dumps(POLICY), "DRILL_SCHEDULE": "0 0 3 * * *"}
        with running_devhost(env=env, app="function_app:app", script_root=tmp_path) as host:
            _wait_for_log(host, "timer drill_timer_tick (0 0 3 * * *)")  # %DRILL_SCHEDULE% resolved
            assert _drill_runs(host) == []

            status, _, body = host.request("POST", "/admin/functions/drill_timer_tick", {}, key=host.master_key)
            assert status == 202 and json.loads(body)["status"] == "Succeeded", host.log()[-3000:]

            [run] = _drill_runs(host)
            view = _finished(host, run["runId"])
            assert view["status"] == "succeeded", view
            assert view["requestedBy"]["name"] == "drill-scheduler" and "scheduled drill 'web'" in view["why"]
            vm = emu.state()["vms"]["web-1"]
            # MarkedForDeletion lingers a few emulated minutes after a cleanup (as in ASR): both mean cleaned up.
            assert vm["testVmRunning"] is False and vm["testFailoverState"] in ("None", "MarkedForDeletion")
            status, headers, page = host.request(
                "GET", f"/api/runs/{run['runId']}/report?format=html", key=host.function_key
            )
            assert status == 200 and headers["Content-Type"].startswith("text/html") and b"web-1" in page

            status, _, body = host.request("POST", "/admin/functions/drill_timer_tick", {}, key=host.master_key)
            assert status == 202 and json.loads(body)["status"] == "Succeeded"
            assert len(_drill_runs(host)) == 1  # passed: not due for 30 days
            _wait_for_log(host, "not due yet")
            status, _, body = host.request("POST", "/admin/functions/reports_repair", {}, key=host.master_key)
            assert status == 202 and json.loads(body)["status"] == "Succeeded"  # nothing missing: nothing written
