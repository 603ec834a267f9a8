"""Issue 10, cancel while an ASR job runs (Azurite + the HTTPS emulator through the real SDK, counted at the
emulator): the run cancels the job where ASR's ``allowedActions`` offers ``Cancel`` (test failover), waits it
out where it does not (an A2A failover), then applies the rule of the phase reached. Never a duplicate action,
never a stranded VM."""

from __future__ import annotations

from typing import Any

import pytest

from lib.domain.runs import RunEvent, RunStatus
from tests.integration.workflows.conftest import NETWORK, topology
from tests.integration.workflows.test_cancel_phases import _job, _protected_in, _step_until

pytestmark = pytest.mark.integration


def _as_before(stack: Any, vm: str) -> bool:
    s = stack.vm(vm)
    # MarkedForDeletion lingers a few emulated minutes after a cleanup (as in ASR): it still means no test VM.
    cleaned = s["testFailoverState"] in ("None", "MarkedForDeletion")
    untouched = cleaned and (s["testVmRunning"], s["activeLocation"]) == (False, "Primary")
    return untouched and _protected_in(stack, vm, "eastus") and s["originalDirection"]


def _requested(stack: Any, run_id: str) -> None:
    run = stack.app.engine.cancel(run_id, by="operator", reason="wrong window")
    assert run.active and "cancel requested by operator: wrong window" in run.reason, run.reason
    assert run.state["stop_requested"] is True


def test_cancel_during_a_test_failover_cancels_the_job_and_the_drill_ends_cancelled(dr_stack: Any) -> None:
    with dr_stack(topology(["web-1", "web-2"]), time_scale=5) as stack:
        run_id = stack.start("drill", {"vms": ["web-1", "web-2"], "test_network_id": NETWORK, "parallelism": 1})
        _step_until(
            stack, run_id, lambda run: "test_failover" in run.state.get("vms", {}).get("web-1", {}).get("jobs", {})
        )
        job = stack.app.deps.asr.get_job(
            stack.app.engine.get(run_id).run.state["vms"]["web-1"]["jobs"]["test_failover"]
        )
        assert not job.finished and "Cancel" in job.allowed_actions  # ASR offers it on a running test failover
        _requested(stack, run_id)
        _step_until(stack, run_id, lambda run: bool(run.state.get("cancelled_jobs")))  # the cancel is sent
        stack.emu.set_time_scale(3000)  # the cleanup and a second drill need not run at 5x
        run = stack.finish(run_id)
        assert run.status is RunStatus.CANCELLED, (run.status, run.reason)
        assert "1 test failover jobs cancelled" in run.reason and "validation skipped" in run.reason
        assert stack.posts("cancel") == 1 and stack.posts("testFailover") == 1  # web-2 never started
        assert stack.app.deps.asr.get_job(job.name).state == "Cancelled"
        assert _as_before(stack, "web-1") and _as_before(stack, "web-2")
        assert stack.posts("unplannedFailover") == 0 and stack.posts("switchprotection") == 0
        history = stack.app.engine.get(run_id).history
        assert [h.event for h in history if h.event in (RunEvent.CANCEL_REQUEST, RunEvent.CANCEL)] == [
            RunEvent.CANCEL_REQUEST, RunEvent.CANCEL,
        ]  # fmt: skip
        again = stack.finish(stack.start("drill", {"vms": ["web-1"], "test_network_id": NETWORK}))
        assert again.status is RunStatus.SUCCEEDED, again.error  # the cancelled drill holds nothing


def test_cancel_after_the_test_failover_cleans_the_test_vms_up_then_ends_cancelled(dr_stack: Any) -> None:
    with dr_stack(topology(["web-1"])) as stack:
        run_id = stack.start("drill", {"vms": ["web-1"], "test_network_id": NETWORK})
        _step_until(stack, run_id, lambda run: run.step == "validate")
        assert stack.vm("web-1")["testVmRunning"] is True
        _requested(stack, run_id)
        run = stack.finish(run_id)
        assert run.status is RunStatus.CANCELLED, (run.status, run.reason)
        assert "cleaned up (web-1)" in run.reason
        assert stack.posts("testFailoverCleanup") == 1 and stack.posts("cancel") == 0  # nothing left to cancel
        assert _as_before(stack, "web-1")


def test_a_failover_job_offers_no_cancel_so_it_is_waited_out_then_the_operator_chooses(dr_stack: Any) -> None:
    with dr_stack(topology(["web-1", "web-2"]), time_scale=5) as stack:
        run_id = stack.start("failover", {"vms": ["web-1", "web-2"], "parallelism": 1})
        _step_until(stack, run_id, _job("failover"))
        job = stack.app.deps.asr.get_job(stack.app.engine.get(run_id).run.state["vms"]["web-1"]["jobs"]["failover"])
        assert not job.finished and not job.allowed_actions  # an A2A failover job cannot be cancelled
        _requested(stack, run_id)
        stack.emu.set_time_scale(3000)
        paused = stack.finish(run_id)
        assert paused.status is RunStatus.AWAITING_DECISION, (paused.status, paused.reason)
        assert paused.approval == "cancelled-after-failover" and paused.choices == ("commit", "rollback")
        assert "web-1 failed over before it could stop" in paused.reason
        assert stack.posts("unplannedFailover") == 1 and stack.posts("cancel") == 0  # web-2 never started
        assert stack.posts("failoverCommit") == 0  # the cancel stopped the auto-commit
        stack.app.engine.decide(run_id, "commit", by="operator")
        done = stack.finish(run_id)
        assert done.status is RunStatus.PARTIALLY_SUCCEEDED, (done.status, done.reason)
        assert _protected_in(stack, "web-1", "westus") and _as_before(stack, "web-2")  # nobody stranded
        assert (stack.posts("unplannedFailover"), stack.posts("failoverCommit"), stack.posts("switchprotection")) == (
            1, 1, 1,
        )  # fmt: skip
        assert done.state["vms"]["web-2"]["error"]["message"].startswith("web-2 was not touched: the run was cancelled")


def test_a_failover_job_that_fails_after_a_cancel_ends_the_run_cancelled_as_before(dr_stack: Any) -> None:
    with dr_stack(topology(["web-1"]), time_scale=5) as stack:
        stack.emu.add_fault({"kind": "jobFailure", "vm": "web-1", "operation": "UnplannedFailover"})
        run_id = stack.start("failover", {"vms": ["web-1"]})
        _step_until(stack, run_id, _job("failover"))
        _requested(stack, run_id)
        stack.emu.set_time_scale(3000)
        run = stack.finish(run_id)
        assert run.status is RunStatus.CANCELLED, (run.status, run.reason)
        assert "no VM failed over" in run.reason and _as_before(stack, "web-1")
        assert stack.posts("unplannedFailover") == 1 and stack.posts("failoverCommit") == 0


def test_cancel_during_a_plan_test_failover_cancels_the_plan_job(dr_stack: Any) -> None:
    plan = {"name": "app", "groups": [["db"], ["web-1"]]}
    with dr_stack(topology(["db", "web-1"], [plan]), time_scale=5) as stack:
        run_id = stack.start("drill", {"plan": "app", "test_network_id": NETWORK})
        _step_until(stack, run_id, lambda run: "test_failover" in (run.state.get("plan") or {}).get("jobs", {}))
        _requested(stack, run_id)
        _step_until(stack, run_id, lambda run: bool(run.state.get("cancelled_jobs")))
        stack.emu.set_time_scale(3000)
        run = stack.finish(run_id)
        assert run.status is RunStatus.CANCELLED, (run.status, run.reason)
        assert stack.posts("cancel") == 1 and stack.posts("testFailover") == 1
        assert run.state["cancelled_jobs"] == [run.state["plan"]["jobs"]["test_failover"]]
        assert _as_before(stack, "db") and _as_before(stack, "web-1")
