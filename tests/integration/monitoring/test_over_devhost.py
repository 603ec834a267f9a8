"""The real ``function_app.py`` under the devhost: the readiness timer (run through the host's admin API) stores
readiness that ``GET /api/status`` then shows over real HTTP; the schedule comes from READINESS_SCHEDULE."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import replace
from pathlib import Path

import pytest

from devhost.appenv import app_env
from devhost.launcher import DevhostInfo, running_devhost
from devhost.local import local_settings
from emulator.launcher import running_emulator
from tests.integration.monitoring.conftest import CACHE_WUS, topology

pytestmark = pytest.mark.integration

POLICY = {"regions": {"eastus": {"targets": [{"vms": ["vm1"]}], "rpoTargetSeconds": 60}}}


def _wait_for_line(host: DevhostInfo, text: str, deadline_s: float = 15.0) -> None:
    """The timer thread logs its schedule when it starts, shortly after the host says it is ready."""
    deadline = time.monotonic() + deadline_s
    while text not in host.log():
        assert time.monotonic() < deadline, host.log()[-2000:]
        time.sleep(0.05)


def test_the_timer_evaluates_and_the_route_shows_it(storage_connection_string: str, tmp_path: Path) -> None:
    with running_emulator(topology(["vm1", "vm2"]), time_scale=600) as emu:
        name = "m" + uuid.uuid4().hex[:12]
        settings = replace(
            local_settings(emu, storage_connection_string, work_queue=name, runs_table=f"{name}runs",
                           run_index_table=f"{name}idx", locks_table=f"{name}locks", readiness_table=f"{name}rd",
                           asr_cache_storage_accounts=f"westus={CACHE_WUS}"),
            readiness_schedule="0 0 3 * * *",  # daily: the test runs the timer itself
        )  # fmt: skip
        env = {**app_env(settings), "DR_POLICY": json.dumps(POLICY)}
        (tmp_path / "host.json").write_text(json.dumps({"version": "2.0"}))
        with running_devhost(env=env, script_root=tmp_path) as host:
            _wait_for_line(host, "readiness_timer (0 0 3 * * *)")
            status, _, body = host.request("POST", "/admin/functions/readiness_timer", {}, key=host.master_key)
            assert status == 202 and json.loads(body)["status"] == "Succeeded", host.log()[-3000:]
            status, _, body = host.request("GET", "/api/status", key=host.function_key)
            assert status == 200, body
            answer = json.loads(body)
            (readiness,) = answer["readiness"]
            assert (readiness["target"], readiness["state"]) == ("vms:vm1", "ActionRequired")
            assert any(r.startswith("RPO: over the 60 s target") for r in readiness["reasons"])
            assert answer["tiles"]["replicatedItems"]["counts"]["healthy"] == 2
            assert host.request("GET", "/api/status")[0] == 401  # the function key is required
