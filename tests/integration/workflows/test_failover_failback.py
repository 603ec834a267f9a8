"""Whole DR operations on the engine (Azurite) and the ASR emulator over HTTPS, time-scaled."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest

from lib.domain.asr import Job
from lib.domain.runs import RunStatus
from lib.engine import CrashPoint, InjectedCrash
from tests.integration.workflows.conftest import topology
from tests.integration.workflows.test_cancel_phases import _step_until

pytestmark = pytest.mark.integration

PLAN = {"name": "app", "groups": [["db"], ["web-1", "web-2"]]}


def _protected_original(stack: Any, vm: str) -> bool:
    s = stack.vm(vm)
    return bool(s["originalDirection"] and s["protectionState"] == "Protected" and s["replicationHealth"] == "Normal")


def _expected_rto_s(stack: Any, state: dict[str, Any], vm: str) -> float:
    """RTO from its parts: our clock from the trigger to the failover's start, plus the failover job's
    duration as the emulator reports it (fetched again through the adapter, not taken from the run)."""
    row = state["vms"][vm]
    job_name = row["jobs"].get("failover") or state["plan"]["jobs"]["failover"]
    job: Job = stack.app.deps.asr.get_job(job_name)
    assert job.start_time and job.end_time
    ours = (_t(row["started_at"]["failover"]) - _t(state["trigger_at"])).total_seconds()
    return max(0.0, ours) + (job.end_time - job.start_time).total_seconds()


def _db_progress(stack: Any, run_id: str) -> list[int]:
    """db's reprotect progress as the health polls recorded it in the run's history."""
    history = stack.app.engine.get(run_id).history
    progress = [h.details["progress"] for h in history if h.step == "await_healthy" and "progress" in h.details]
    return [p["db"]["pct"] for p in progress if isinstance(p.get("db"), dict) and p["db"]["pct"] is not None]


def _t(value: str) -> datetime:
    return datetime.fromisoformat(value)


def test_plan_failover_to_healthy_then_failback_to_healthy(dr_stack: Any) -> None:
    # 127 GiB disks: reverse replication lasts long enough (~37 emulated min) for the polls to see it rise.
    with dr_stack(topology(["db", "web-1", "web-2"], [PLAN], disk_gib=127)) as stack:
        lag = {i.vm_name: i.rpo_seconds for i in stack.app.deps.asr.list_protected_items()}
        assert set(lag) == {"db", "web-1", "web-2"} and None not in lag.values()
        run_id = stack.start("failover", {"plan": "app"})
        _step_until(stack, run_id, lambda run: run.step == "reprotect")
        stack.emu.set_time_scale(300)  # reverse replication lasts seconds, not a fraction: the polls see it rise
        _step_until(stack, run_id, lambda run: len(_db_progress(stack, run_id)) >= 2)
        stack.emu.set_time_scale(3000)
        run = stack.finish(run_id)
        assert run.status is RunStatus.SUCCEEDED, run.error
        for vm in ("db", "web-1", "web-2"):
            s = stack.vm(vm)
            assert (s["primaryRegion"], s["protectionState"], s["replicationHealth"]) == (
                "westus",
                "Protected",
                "Normal",
            )
        view = stack.app.engine.get(run_id)
        steps = [h.step for h in view.history if h.outcome == "next"]
        assert steps == [
            "preflight",
            "failover",
            "await_commit",
            "commit",
            "maybe_reprotect",
            "reprotect",
            "await_healthy",
        ]
        pcts = _db_progress(stack, run_id)
        assert pcts and pcts == sorted(pcts)  # reprotect progress recorded at each poll, rising
        evidence = view.run.state["evidence"]
        # A plan fails over at LatestProcessed: the RPO is each VM's replication lag at preflight (estimated).
        for vm in ("db", "web-1", "web-2"):
            assert evidence["vms"][vm]["rpo_s"] == float(lag[vm]) and evidence["vms"][vm]["rpo_estimated"] is True
            assert evidence["vms"][vm]["rto_s"] == pytest.approx(_expected_rto_s(stack, view.run.state, vm))
            assert evidence["vms"][vm]["rto_s"] > 0
        assert evidence["rpo_s"] == max(float(v) for v in lag.values() if v is not None)
        assert evidence["rto_s"] == max(v["rto_s"] for v in evidence["vms"].values())
        assert {j["phase"] for j in view.run.state["jobs"].values()} == {"failover", "commit", "reprotect"}
        assert all(j["state"] == "Succeeded" for j in view.run.state["jobs"].values())
        assert stack.posts("unplannedFailover") == 1 and stack.posts("failoverCommit") == 1
        assert stack.posts("switchprotection") == 3

        back = stack.finish(stack.start("failback", {"plan": "app"}))
        assert back.status is RunStatus.SUCCEEDED, back.error
        assert all(_protected_original(stack, vm) for vm in ("db", "web-1", "web-2"))
        assert stack.emu.state()["plans"]["app"]["allowedOperations"] == ["UnplannedFailover", "TestFailover"]


def test_vm_list_with_one_failed_job_is_partial_and_resume_finishes_it(dr_stack: Any) -> None:
    with dr_stack(topology(["web-1", "web-2", "web-3"])) as stack:
        stack.emu.add_fault({"kind": "jobFailure", "vm": "web-2", "operation": "UnplannedFailover", "count": 1,
                             "code": "70094", "message": "The source VM could not be shut down."})  # fmt: skip
        run_id = stack.start("failover", {"vms": ["web-1", "web-2", "web-3"]})
        paused = stack.finish(run_id)
        assert paused.status is RunStatus.AWAITING_DECISION, paused.reason  # never commits on its own
        assert stack.posts("failoverCommit") == 0
        stack.app.engine.decide(run_id, "commit", by="operator")
        run = stack.finish(run_id)
        assert run.status is RunStatus.PARTIALLY_SUCCEEDED, run.reason
        vms = run.state["evidence"]["vms"]
        assert vms["web-2"]["outcome"] == "failed" and vms["web-2"]["error"]["code"] == "70094"
        assert vms["web-1"]["outcome"] == vms["web-3"]["outcome"] == "succeeded"
        assert stack.vm("web-2")["protectionState"] == "Protected" and stack.vm("web-2")["originalDirection"]

        stack.app.engine.resume(run_id, by="operator", reason="retry web-2")
        resumed = stack.finish(run_id)
        assert resumed.status is RunStatus.SUCCEEDED, resumed.error
        assert stack.vm("web-2")["primaryRegion"] == "westus"
        assert stack.posts("unplannedFailover") == 4  # three first time, one for web-2 on resume


@pytest.mark.parametrize("job_still_running", [True, False])
def test_crash_after_starting_failover_does_not_start_it_twice(dr_stack: Any, job_still_running: bool) -> None:
    crashed: list[str] = []

    def crash(point: CrashPoint, run: Any) -> None:
        if point is CrashPoint.AFTER_STEP and run.step == "failover" and not crashed:
            crashed.append(run.run_id)
            raise InjectedCrash(point, run.run_id)

    with dr_stack(topology(["web-1", "web-2"]), crash_hook=crash) as stack:
        if job_still_running:  # slow ASR down so that the redelivered step finds the jobs still running
            stack.emu.set_time_scale(20)
        run_id = stack.start("failover", {"vms": ["web-1", "web-2"]})
        driver = stack.driver()
        driver.on_transition = lambda run, rows: stack.emu.set_time_scale(3000) if run.step != "failover" else None
        run = driver.run_until_finished(run_id, deadline_s=180)
        assert crashed and run.status is RunStatus.SUCCEEDED, run.error
        assert stack.posts("unplannedFailover") == 2  # one per VM, although the step ran twice
        jobs = run.state["jobs"]
        assert sum(1 for j in jobs.values() if j["phase"] == "failover" and j["state"] == "Succeeded") == 2
        for vm in ("web-1", "web-2"):
            rto = run.state["evidence"]["vms"][vm]["rto_s"]
            assert rto == pytest.approx(_expected_rto_s(stack, dict(run.state), vm)) and rto > 0
        first_failover = next(h for h in stack.app.engine.get(run_id).history if h.step == "failover")
        if job_still_running:
            assert first_failover.details["started"] == [] and first_failover.details["running"] == 2
        else:
            assert set(first_failover.details["finished"]) == {"web-1", "web-2"}


def test_429_storms_and_5xx_are_ridden_out(dr_stack: Any) -> None:
    with dr_stack(topology(["web-1", "web-2"])) as stack:
        stack.emu.add_fault({"kind": "http", "status": 429, "method": "GET", "retryAfter": 0.05, "count": 30})
        stack.emu.add_fault({"kind": "http", "status": 503, "route": "replicationProtectedItems", "count": 10})
        stack.emu.add_fault({"kind": "http", "status": 500, "method": "POST", "count": 3})
        run = stack.finish(stack.start("failover", {"vms": ["web-1", "web-2"]}), deadline_s=240)
        assert run.status is RunStatus.SUCCEEDED, run.error
        # The POST fault answers the first three POSTs, all failover POSTs (nothing else is posted before the
        # failovers are accepted), with 500 and nothing done; beyond them, one accepted failover POST per VM.
        assert stack.posts("unplannedFailover") == 3 + 2
        jobs = run.state["jobs"].values()
        assert sorted(j["target"] for j in jobs if j["phase"] == "failover") == ["web-1", "web-2"]
        assert all(stack.vm(vm)["primaryRegion"] == "westus" for vm in ("web-1", "web-2"))


def test_a_second_run_on_the_same_vms_is_refused_while_the_first_holds_them(dr_stack: Any) -> None:
    with dr_stack(topology(["web-1"])) as stack:
        engine, queue = stack.app.engine, stack.app.engine.queue
        first = stack.start("failover", {"vms": ["web-1"]})
        # Run only the first run's preflight (it takes the lock), then hold its next work item: the first run
        # is active, holds web-1 and has not touched ASR, so only the lock can refuse the second run.
        [msg] = queue.receive(1, 30)
        engine.runtime.config = replace(engine.runtime.config, max_chain=1)  # no Next straight into failover
        engine.handle_message(msg.body, msg.message_id, msg.dequeue_count)
        assert engine.get(first).run.step == "failover"
        [held] = queue.receive(1, 120)
        assert stack.vm("web-1")["originalDirection"] and stack.posts("unplannedFailover") == 0

        second_id = stack.start("failover", {"vms": ["web-1"]})
        second = stack.finish(second_id)
        assert second.status is RunStatus.FAILED and second.error_code == "ItemsLocked", second.error
        assert f"web-1 by run {first}" in second.error and stack.posts("unplannedFailover") == 0

        queue.update(held, held.body, 0)  # let the first run go on
        done = stack.finish(first)
        assert done.status is RunStatus.SUCCEEDED, done.error
        assert stack.posts("unplannedFailover") == 1
