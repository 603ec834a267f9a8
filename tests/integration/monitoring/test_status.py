"""GET /api/status through the app's route on Azurite + the HTTPS emulator: tiles, readiness, runs, drills, cache."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from tests.integration.api.conftest import NETWORK
from tests.integration.monitoring.conftest import topology

pytestmark = pytest.mark.integration

LIST_ITEMS = (
    "GET /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.RecoveryServices"
    "/vaults/{resourceName}/replicationProtectedItems"
)


def test_tiles_follow_the_vault_and_an_injected_critical_item(monitor_stack: Callable[..., Any]) -> None:
    with monitor_stack(topology(["vm1", "vm2", "vm3"])) as m:
        tiles = m.status()["tiles"]
        assert tiles["replicatedItems"]["counts"] == {"healthy": 3, "warning": 0, "critical": 0, "notApplicable": 0}
        assert tiles["failoverTestSuccess"]["counts"] == {"performedSuccessfully": 0, "recommended": 3,
                                                          "notApplicable": 0}  # fmt: skip
        m.emu.inject_health_issue("vm2")
        m.emu.inject_health_issue("vm3", code="153039", level="Warning", message="slow")
        status = m.status()
        replicated = status["tiles"]["replicatedItems"]
        assert replicated["counts"] == {"healthy": 1, "warning": 1, "critical": 1, "notApplicable": 0}
        assert replicated["items"]["critical"] == ["vm2"] and replicated["items"]["warning"] == ["vm3"]
        assert {r["vm"]: r["rpoSeconds"] for r in status["rpo"]} == {"vm1": 393, "vm2": 393, "vm3": 393}
        assert status["decisions"] == [] and status["readiness"] == [] and status["lastReadinessEvaluation"] is None


def test_configuration_issues_and_readiness_come_from_the_last_evaluation(monitor_stack: Callable[..., Any]) -> None:
    with monitor_stack(topology(["vm1"]), cache_accounts="") as m:
        m.emu.admin("POST", "usages", {"region": "westus", "name": "cores", "limit": 0})
        m.emu.admin("POST", "agent", {"vm": "vm1", "isReplicationAgentCertificateUpdateRequired": True})
        m.evaluate()
        status = m.status()
        issues = status["tiles"]["configurationIssues"]
        assert issues["missingConfigurations"]["items"] == ["ASR_CACHE_STORAGE_ACCOUNTS[westus]"]
        assert issues["subscriptionQuota"]["items"] == ["cores"] and issues["softwareUpdates"]["items"] == ["vm1"]
        assert issues["missingResources"] == {"count": 0, "items": [], "reasons": []}
        (readiness,) = status["readiness"]
        assert (readiness["target"], readiness["state"]) == ("vms:vm1", "ActionRequired")
        assert status["lastReadinessEvaluation"] == readiness["evaluatedAt"]


def test_active_runs_and_the_last_drill_per_target(monitor_stack: Callable[..., Any]) -> None:
    with monitor_stack(topology(["vm1", "vm2"])) as m:
        run_id = m.api.stack.start("drill", {"vms": ["vm1"], "test_network_id": NETWORK})
        (active,) = m.status()["activeRuns"]
        assert (active["runId"], active["kind"], active["status"]) == (run_id, "drill", "pending")
        m.api.stack.finish(run_id)
        status = m.status()
        assert status["activeRuns"] == []
        assert [(d["target"], d["runId"], d["succeeded"]) for d in status["lastDrills"]] == [("vms:vm1", run_id, True)]
        tiles = status["tiles"]["failoverTestSuccess"]
        assert tiles["items"]["performedSuccessfully"] == ["vm1"] and tiles["items"]["recommended"] == ["vm2"]


def test_refreshing_within_the_cache_reads_arm_once(monitor_stack: Callable[..., Any]) -> None:
    with monitor_stack(topology(["vm1"]), cache_seconds=60.0) as m:
        m.emu.reset_requests()
        first = m.status()
        for _ in range(9):
            again = m.status()
        assert again["generatedAt"] == first["generatedAt"] and again["cache"]["maxAgeSeconds"] == 60.0
        assert m.emu.requests_count()["byRoute"] == {LIST_ITEMS: 1}


def _reprotecting(row: dict[str, Any]) -> bool:
    return row["step"] == "await_healthy" and any(v["reprotectPercent"] is not None for v in row["vms"])


def test_a_running_failover_shows_its_step_and_per_vm_reprotect_progress(monitor_stack: Callable[..., Any]) -> None:
    with monitor_stack(topology(["vm1", "vm2"])) as m:
        m.emu.set_time_scale(100)  # reverse replication lasts ~30 s: the watch step is seen even on a busy machine
        run_id = m.api.stack.start("failover", {"vms": ["vm1", "vm2"]})
        seen: list[dict[str, Any]] = []
        driving = threading.Thread(target=m.api.stack.finish, args=(run_id,), daemon=True)
        driving.start()
        while driving.is_alive() and not any(_reprotecting(r) for r in seen):
            seen += [r for r in m.status()["activeRuns"] if r["runId"] == run_id]
            time.sleep(0.02)
        m.emu.set_time_scale(3000)  # seen: finish quickly
        driving.join(180)
        watching = [r for r in seen if _reprotecting(r)]
        assert watching, [(r["step"], r["vms"]) for r in seen]
        assert {v["vm"] for v in watching[0]["vms"]} == {"vm1", "vm2"}
        assert all(0 <= v["reprotectPercent"] <= 100 for v in watching[0]["vms"] if v["reprotectPercent"] is not None)
        assert {r["step"] for r in seen} > {"await_healthy"}  # the view followed the run through its steps
        assert m.status()["activeRuns"] == []


def test_the_timer_trigger_and_the_dashboard_route_in_process(monitor_stack: Callable[..., Any]) -> None:
    from azure.functions.timer import TimerRequest

    from functions.monitoring import readiness_timer

    with monitor_stack(topology(["vm1"])) as m:
        app = m.api.stack.app  # the app the triggers call (current_app), with the policy as its settings say
        app.settings = replace(
            app.settings, policy=json.dumps({"regions": {"eastus": {"targets": [{"vms": ["vm1"]}]}}})
        )
        m.emu.add_fault({"kind": "http", "status": 403, "method": "GET", "route": "/replicationVaultHealth"})
        readiness_timer(TimerRequest(past_due=False))
        (readiness,) = m.status()["readiness"]
        assert readiness["target"] == "vms:vm1" and readiness["state"] == "Warning"
        assert any(r.startswith("vault health: could not read the vault health") for r in readiness["reasons"])
        page = m.api.call("GET", "dashboard")
        assert page.status == 200 and page.headers["Content-Type"] == "text/html"
        assert b"GET /api/status" in page.raw
