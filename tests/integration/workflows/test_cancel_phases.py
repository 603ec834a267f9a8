"""Cancel in every phase of a failover ends in a safe state, or is refused naming the choices (Azurite + the
HTTPS emulator, counted at the emulator): never a duplicate action, never a stranded VM."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from lib.domain.runs import RunRecord, RunStatus
from lib.engine import OperationRefused
from tests.integration.workflows.conftest import topology

pytestmark = pytest.mark.integration


def _step_until(stack: Any, run_id: str, reached: Callable[[RunRecord], bool], deadline_s: float = 60) -> RunRecord:
    """Play the queue trigger one message (and one step) at a time until the run has ``reached`` the phase
    wanted. The host path normally goes on with a Next step in the same call; here it stops after each step."""
    engine, queue = stack.app.engine, stack.app.engine.queue
    engine.runtime.config = replace(engine.runtime.config, max_chain=1)
    end = time.monotonic() + deadline_s
    run: RunRecord
    while not reached(run := engine.get(run_id).run):
        assert time.monotonic() < end and run.active, (run.status, run.step, run.reason)
        for msg in queue.receive(1, 30):
            engine.handle_message(msg.body, msg.message_id, msg.dequeue_count)
            queue.delete(msg)
        time.sleep(0.02)
    return run


def _refused(stack: Any, run_id: str, words: str) -> None:
    with pytest.raises(OperationRefused) as refused:
        stack.app.engine.cancel(run_id, by="operator")
    assert refused.value.allowed == ("commit", "rollback") and words in refused.value.reason, refused.value.reason
    assert stack.app.engine.get(run_id).run.active


def _protected_in(stack: Any, vm: str, region: str) -> bool:
    s = stack.vm(vm)
    return bool(
        s["primaryRegion"] == region and (s["protectionState"], s["replicationHealth"]) == ("Protected", "Normal")
    )


def _once_each(stack: Any) -> None:
    assert (stack.posts("unplannedFailover"), stack.posts("failoverCommit"), stack.posts("switchprotection")) == (
        1, 1, 1,
    )  # fmt: skip


def _job(phase: str) -> Callable[[RunRecord], bool]:
    return lambda run: phase in run.state.get("vms", {}).get("web-1", {}).get("jobs", {})


def test_cancel_before_any_asr_action_ends_the_run_cancelled(dr_stack: Any) -> None:
    with dr_stack(topology(["web-1"])) as stack:
        run_id = stack.start("failover", {"vms": ["web-1"]})
        _step_until(stack, run_id, lambda run: run.step == "failover")  # preflight done, VM locked
        cancelled = stack.app.engine.cancel(run_id, by="operator")
        assert cancelled.status is RunStatus.CANCELLED and stack.posts("unplannedFailover") == 0
        assert _protected_in(stack, "web-1", "eastus") and stack.vm("web-1")["originalDirection"]
        again = stack.finish(stack.start("failover", {"vms": ["web-1"]}))  # the cancelled run holds nothing
        assert again.status is RunStatus.SUCCEEDED, again.error


def test_cancel_during_the_failover_job_waits_it_out_then_commit_ends_committed_and_protected(dr_stack: Any) -> None:
    with dr_stack(topology(["web-1"]), time_scale=5) as stack:
        run_id = stack.start("failover", {"vms": ["web-1"]})
        _step_until(stack, run_id, _job("failover"))
        assert stack.vm("web-1")["currentJob"] is not None  # the A2A failover job is running
        requested = stack.app.engine.cancel(run_id, by="operator")
        assert requested.active and "cancel requested" in requested.reason  # a request: the job offers no Cancel
        stack.emu.set_time_scale(3000)
        paused = stack.finish(run_id)
        assert paused.status is RunStatus.AWAITING_DECISION and paused.choices == ("commit", "rollback")
        _refused(stack, run_id, "uncommitted")  # the job ended: from here cancel names the choices
        stack.app.engine.decide(run_id, "commit", by="operator")
        done = stack.finish(run_id)
        assert done.status is RunStatus.SUCCEEDED, done.error
        assert _protected_in(stack, "web-1", "westus")
        _once_each(stack)


def test_cancel_at_the_commit_question_is_refused_and_rollback_brings_the_vm_back(dr_stack: Any) -> None:
    with dr_stack(topology(["web-1"])) as stack:
        run_id = stack.start("failover", {"vms": ["web-1"], "auto_commit": False})
        paused = stack.finish(run_id)
        assert paused.status is RunStatus.AWAITING_DECISION and paused.choices == ("commit", "rollback")
        _refused(stack, run_id, "uncommitted")
        stack.app.engine.decide(run_id, "rollback", by="operator")
        run = stack.finish(run_id)
        assert run.status is RunStatus.SUCCEEDED, run.error
        back = stack.finish(run.state["linked_run"])
        assert back.status is RunStatus.SUCCEEDED, back.error
        assert _protected_in(stack, "web-1", "eastus") and stack.vm("web-1")["originalDirection"]
        assert stack.posts("unplannedFailover") == 2 and stack.posts("failoverCommit") == 2


def test_cancel_after_commit_is_refused_and_the_run_reprotects(dr_stack: Any) -> None:
    with dr_stack(topology(["web-1"])) as stack:
        run_id = stack.start("failover", {"vms": ["web-1"]})
        _step_until(stack, run_id, lambda run: run.step == "maybe_reprotect")
        assert stack.vm("web-1")["protectionState"] == "UnplannedFailoverCommitted"
        _refused(stack, run_id, "committed")
        done = stack.finish(run_id)
        assert done.status is RunStatus.SUCCEEDED and _protected_in(stack, "web-1", "westus")
        _once_each(stack)


def test_cancel_during_reprotect_is_refused_and_the_run_ends_protected(dr_stack: Any) -> None:
    with dr_stack(topology(["web-1"])) as stack:
        run_id = stack.start("failover", {"vms": ["web-1"]})
        _step_until(stack, run_id, _job("reprotect"))
        _refused(stack, run_id, "reprotected")
        done = stack.finish(run_id)
        assert done.status is RunStatus.SUCCEEDED and _protected_in(stack, "web-1", "westus")
        _once_each(stack)
