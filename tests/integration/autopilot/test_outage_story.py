"""The outage the app exists for, through the app's entry points (issue 14's story with issue 11's signals): the
primary region goes down, a Service Health incident arrives on the webhook, the autopilot fails the region over
(the source shutdown cannot happen; the run says so), commit, reprotect parks ``waiting-for-region`` because
reprotect needs the old primary; the region comes back and its resolved notice wakes the parked run at once
(the decision says which runs it woke), the VMs end protected; nothing fails back on its own; then an operator's
``POST /api/failback`` brings them home, protected again. Counted at the emulator."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.integration.autopilot.conftest import AutopilotApi
from tests.integration.workflows.conftest import topology
from tests.unit.autopilot.payloads import RESOLVED, service_health

pytestmark = pytest.mark.integration

VMS = ["AzureDemoVM", "web-1"]  # mixed case: ASR's jobs name it azuredemovm
POLICY = {"regions": {"eastus": {"targets": [{"vms": VMS}], "mode": "auto",
                                 "failover": {"recoveryPoint": "Latest", "shutdownSource": True}}}}  # fmt: skip


def _until(api: AutopilotApi, run_id: str, check: Any, what: str, deadline_s: float = 120.0) -> dict[str, Any]:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        view: dict[str, Any] = api.call("GET", f"runs/{run_id}").json
        if check(view):
            return view
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} never {what}: {view['status']} at {view['step']}: {view['reason']}")


def test_region_down_alert_failover_parks_then_the_resolve_wakes_it_and_the_operator_fails_back(
    autopilot_stack: Any,
) -> None:
    with autopilot_stack(topology(VMS), POLICY) as api:
        api.emu.region_outage("eastus")
        now = datetime.now(UTC)
        assert api.alert(service_health(at=now, data_id="down-1")).status == 202
        run_id = _first_run(api)["runId"]

        parked = _until(api, run_id, lambda v: (v.get("parked") or {}).get("state") == "waiting-for-region",
                        "parked waiting for its region")  # fmt: skip
        assert parked["status"] == "waiting" and parked["parked"]["region"] == "eastus"
        assert parked["reason"].startswith("waiting-for-region")
        assert all(api.vm(vm)["runningIn"] == "westus" for vm in VMS)  # failed over although eastus is down
        assert api.posts("unplannedFailover") == len(VMS)
        # The source shutdown could not happen: ASR went on, and the run keeps its warning on each failover job.
        failovers = [j for j in parked["jobs"] if j["phase"] == "failover"]
        assert len(failovers) == len(VMS) and all(j["state"] == "Succeeded" for j in failovers)
        assert all(any(e["level"] == "Warning" for e in j["errors"]) for j in failovers), failovers

        api.emu.region_outage("eastus", down=False)
        resolved = service_health(RESOLVED, at=now + timedelta(minutes=30), data_id="down-1-resolved")
        assert api.alert(resolved).status == 202
        recovered = api.wait_decisions("eastus", lambda d: d[0]["outcome"] == "recovered")[0]
        assert any(f"woke 1 run(s) parked until eastus came back: {run_id}" in r for r in recovered["reasons"])
        done = api.wait(run_id)
        assert done["status"] == "succeeded", done
        for vm in VMS:
            state = api.vm(vm)
            assert (state["runningIn"], state["primaryRegion"], state["protectionState"]) == (
                "westus",
                "westus",
                "Protected",
            ), state
        assert all(v["rpoSeconds"] and v["rpoSeconds"] > 0 for v in done["vms"]), done["vms"]  # the lost tail
        assert [r for r in api.runs() if r["kind"] == "failback"] == []  # no automatic failback, ever

        back = api.call("POST", "failback", {"target": {"vms": VMS}, "reason": "eastus is back"})
        assert back.status == 202, back.json
        home = api.wait(back.json["runId"])
        assert home["status"] == "succeeded", home
        assert all(api.vm(vm)["runningIn"] == "eastus" and api.vm(vm)["protectionState"] == "Protected" for vm in VMS)
        assert api.posts("unplannedFailover") == 2 * len(VMS)  # one failover POST per VM each way


def _first_run(api: AutopilotApi) -> dict[str, Any]:
    end = time.monotonic() + 60
    while time.monotonic() < end:
        runs = [r for r in api.runs() if r["kind"] == "failover"]
        if runs:
            return runs[0]
        time.sleep(0.2)
    raise AssertionError(f"no failover run started: {api.decisions('eastus')}")
