"""The outage the app exists for (issue 14), on Azurite and the HTTPS emulator: the primary region is down.

Failover with source shutdown completes although the shutdown cannot happen (warning kept on the run), the RPO
is the lost tail, commit, then reprotect parks ``waiting-for-region`` (visible on the run, retried with backoff,
operators told) instead of failing or hammering ASR; the region comes back and the region-recovered wake-up
(``wake_parked``) or an operator's resume makes it proceed to healthy. Then a failback to healthy.
The signals part (alert -> decision -> run) is wired by the lead after merge; here the run is started directly.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import pytest

from lib.api.run_view import run_view
from lib.domain.runs import RunRecord, RunStatus
from lib.engine import DeadlineExceeded
from lib.workflows.parking import wake_parked
from tests.integration.workflows.conftest import topology

pytestmark = pytest.mark.integration

VMS = ["AzureDemoVM", "web-1"]  # a mixed-case name: ASR's jobs spell it azuredemovm
SUB = "6f4e2a10-0000-4000-8000-00000000a5a5"
CACHE = (
    f"eastus=/subscriptions/{SUB}/resourceGroups/rg-dr/providers/Microsoft.Storage/storageAccounts/asrcacheeastus;"
    f"westus=/subscriptions/{SUB}/resourceGroups/rg-dr/providers/Microsoft.Storage/storageAccounts/asrcachewestus"
)


class Events:
    """A Notifier that keeps what was published."""

    def __init__(self) -> None:
        self.published: list[tuple[str, str, dict[str, Any]]] = []

    def publish(self, event_type: str, subject: str, data: Mapping[str, Any]) -> None:
        self.published.append((event_type, subject, dict(data)))

    def of(self, event_type: str) -> list[dict[str, Any]]:
        return [data for kind, _, data in self.published if kind == event_type]


def drive_until(stack: Any, run_id: str, done: Callable[[RunRecord], bool], deadline_s: float = 90.0) -> RunRecord:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        with contextlib.suppress(DeadlineExceeded):
            stack.driver().drive(run_id, deadline_s=0.5)
        run: RunRecord = stack.app.engine.get(run_id).run
        if done(run):
            return run
    raise AssertionError(f"run {run_id} did not get there: {stack.app.engine.get(run_id).run}")


def _parked(attempts: int) -> Callable[[RunRecord], bool]:
    def check(run: RunRecord) -> bool:
        parked = run.state.get("parked") or {}
        return run.status is RunStatus.WAITING and parked.get("attempts", 0) >= attempts

    return check


def _switch_jobs(stack: Any) -> dict[str, list[str]]:
    """Switch-protection jobs per VM (lower-cased, as ASR names job targets) and how each ended."""
    jobs: dict[str, list[str]] = {}
    for job in stack.app.deps.asr.list_jobs():
        if job.scenario == "SwitchReplicationGroupProtection":
            jobs.setdefault(job.target_name, []).append(job.state)
    return jobs


def test_outage_failover_parks_reprotect_until_the_region_is_back(dr_stack: Any) -> None:
    events = Events()
    with dr_stack(topology(VMS), overrides={"asr_cache_storage_accounts": CACHE}, notifier=events) as stack:
        since = datetime.fromisoformat(stack.emu.region_outage("eastus")["downRegions"]["eastus"])
        time.sleep(0.5)  # ~25 emulated minutes of writes that never reach westus: the lost tail
        body = {"vms": VMS, "shutdown_source": True, "auto_commit": True, "reason": "eastus is down"}
        run_id = stack.start("failover", body)

        run = drive_until(stack, run_id, _parked(2))
        parked = run.state["parked"]
        assert (parked["state"], parked["region"], sorted(parked["vms"])) == ("waiting-for-region", "eastus", VMS)
        assert run.reason.startswith("waiting-for-region: eastus is unavailable")
        preflight = next(h for h in stack.app.engine.get(run_id).history if h.outcome == "next")
        assert "missing_cache_accounts" not in preflight.details
        view = stack.app.engine.get(run_id)
        assert run_view(view.run, view.history)["parked"]["region"] == "eastus"  # the run view shows it
        # Failover went through without the shutdown: the warning is kept on the run, the VMs run in westus.
        failover_jobs = [j for j in run.state["jobs"].values() if j["phase"] == "failover"]
        assert len(failover_jobs) == 2 and all(j["state"] == "Succeeded" for j in failover_jobs)
        assert all(any(e["level"] == "Warning" and e["code"] == "70094" for e in j["errors"]) for j in failover_jobs)
        assert {stack.vm(vm)["runningIn"] for vm in VMS} == {"westus"}
        assert stack.vm("AzureDemoVM")["protectionState"] == "UnplannedFailoverCommitted"
        # Not hammering ASR: one switch-protection POST per VM and attempt, attempts spaced by a growing wait.
        assert stack.posts("switchprotection") == len(VMS) * parked["attempts"]
        assert len(events.of("Autopilot.RunParked")) == 1 and not events.of("Autopilot.RunContinued")

        stack.emu.region_outage("eastus", down=False)
        assert wake_parked(stack.app.engine, "westus") == []  # nothing waits for westus
        assert wake_parked(stack.app.engine, "EastUS") == [run_id]
        run = stack.finish(run_id)
        assert run.status is RunStatus.SUCCEEDED, (run.error, run.reason)
        assert run.state.get("parked") is None
        assert len(events.of("Autopilot.RunContinued")) == 1
        for vm in VMS:
            s = stack.vm(vm)
            assert (s["primaryRegion"], s["protectionState"], s["replicationHealth"]) == (
                "westus",
                "Protected",
                "Normal",
            )

        # Counted at the emulator: one failover POST per VM; per VM exactly one successful switch-protection.
        assert stack.posts("unplannedFailover") == len(VMS)
        switches = _switch_jobs(stack)
        assert sorted(switches) == sorted(vm.lower() for vm in VMS)
        assert all(states.count("Succeeded") == 1 for states in switches.values()), switches
        # The full A2A reprotect input went out, with the cache account of the region the VMs now run in.
        sent = stack.emu.state()["switchProtectionInputs"]["AzureDemoVM"][-1]
        assert sent["vmManagedDisks"][0]["primaryStagingAzureStorageAccountId"].endswith("/asrcachewestus")
        assert sent["policyId"] and sent["recoveryResourceGroupId"] and sent["recoveryContainerId"]
        # RPO: the lost tail, measured from the newest processed point (taken before the outage) to the failover.
        evidence = run.state["evidence"]["vms"]
        for vm in VMS:
            job = stack.app.deps.asr.get_job(run.state["vms"][vm]["jobs"]["failover"])
            assert job.start_time is not None and evidence[vm]["rpo_estimated"] is False
            lost_tail = (job.start_time - since).total_seconds()  # no newer point reached westus
            assert lost_tail > 20 * 60 and lost_tail <= evidence[vm]["rpo_s"] <= lost_tail + 5 * 60  # 5-min points

        back = stack.finish(stack.start("failback", {"vms": VMS, "auto_commit": True}))
        assert back.status is RunStatus.SUCCEEDED, back.error
        for vm in VMS:
            s = stack.vm(vm)
            assert (s["primaryRegion"], s["originalDirection"], s["replicationHealth"]) == ("eastus", True, "Normal")


def test_operator_resume_retries_a_parked_run_at_once(dr_stack: Any) -> None:
    with dr_stack(topology(["vm-a"])) as stack:
        since = datetime.fromisoformat(stack.emu.region_outage("eastus")["downRegions"]["eastus"])
        run_id = stack.start("failover", {"vms": ["vm-a"], "auto_commit": True, "recovery_point": "Latest"})
        run = drive_until(stack, run_id, _parked(1))
        retry_at = run.state["parked"]["retry_at"]
        assert retry_at is not None
        stack.emu.region_outage("eastus", down=False)
        resumed = stack.app.engine.resume(run_id, by="operator", reason="eastus is back")
        assert resumed.status is RunStatus.RUNNING and resumed.state["parked"]["retry_at"] is None
        run = stack.finish(run_id)
        assert run.status is RunStatus.SUCCEEDED, run.error
        assert stack.posts("switchprotection") == 2  # the refused attempt, then the one after the resume
        # Latest names no point: ASR's failover job says which it used (the outage start), so the RPO is measured.
        job = stack.app.deps.asr.get_job(run.state["vms"]["vm-a"]["jobs"]["failover"])
        assert run.state["vms"]["vm-a"]["rp"]["kind"] == "Latest" and job.start_time is not None
        measured = run.state["evidence"]["vms"]["vm-a"]
        assert measured["rpo_estimated"] is False
        assert measured["rpo_s"] == pytest.approx((job.start_time - since).total_seconds(), abs=1)
        # No cache account configured here: preflight said so before the failover started.
        preflight = next(h for h in stack.app.engine.get(run_id).history if h.outcome == "next")
        assert preflight.details["missing_cache_accounts"] == ["westus"]
