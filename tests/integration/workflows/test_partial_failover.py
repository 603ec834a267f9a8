"""A plan whose group 2 fails never commits on its own: the run asks, and each choice ends in a safe state
(Azurite + the HTTPS emulator, counted at the emulator)."""

from __future__ import annotations

from typing import Any

import pytest

from lib.api.run_view import run_view
from lib.domain.runs import RunStatus
from tests.integration.workflows.conftest import topology

pytestmark = pytest.mark.integration

PLAN = {"name": "app", "groups": [["db"], ["app-1"], ["web-1"]]}
VMS = ["db", "app-1", "web-1"]


def _protected(stack: Any, vm: str, region: str, *, original: bool) -> bool:
    s = stack.vm(vm)
    return bool(
        s["primaryRegion"] == region
        and s["originalDirection"] is original
        and (s["protectionState"], s["replicationHealth"]) == ("Protected", "Normal")
    )


def _paused(stack: Any) -> str:
    message = "The failover of the virtual machine 'app-1' failed."
    stack.emu.add_fault(
        {"kind": "jobFailure", "vm": "app-1", "operation": "UnplannedFailover", "count": 1, "message": message}
    )
    run_id: str = stack.start("failover", {"plan": "app"})
    run = stack.finish(run_id)
    assert run.status is RunStatus.AWAITING_DECISION, run.reason
    assert run.choices == ("commit", "retry", "rollback")
    where = stack.app.engine.get(run_id).history[-1].details["vms"]
    assert where["db"]["where"] == "failed over, uncommitted" and where["db"]["region"] == "westus"
    assert where["app-1"]["where"] == "failed" and "'app-1'" in where["app-1"]["error"]["message"]
    # web-1's error is its own (untouched), not app-1's job failure.
    assert where["web-1"]["where"] == "untouched" and "app-1" not in where["web-1"]["error"]["message"]
    assert stack.posts("failoverCommit") == 0 and stack.posts("switchprotection") == 0
    assert stack.vm("db")["runningIn"] == "westus" and _protected(stack, "web-1", "eastus", original=True)
    return run_id


def test_rollback_returns_group_1_protected_in_the_original_direction(dr_stack: Any) -> None:
    with dr_stack(topology(VMS, [PLAN])) as stack:
        run_id = _paused(stack)
        stack.app.engine.decide(run_id, "rollback", by="operator")
        run = stack.finish(run_id)
        assert run.status is RunStatus.PARTIALLY_SUCCEEDED, run.error
        linked = run.state["linked_run"]
        assert run.state["choice"] == "rollback" and run.state["chosen_by"] == "operator"
        back = stack.app.engine.get(linked).run
        assert back.workflow == "failback" and run_id in back.input["reason"] and back.input["vms"] == ["db"]
        assert back.input["linkedFrom"] == {"runId": run_id, "reason": "rollback", "by": "operator"}
        assert run.state["links"] == [{"runId": linked, "reason": "rollback", "kind": "failback", "by": "operator"}]
        assert f"linked run {linked} (failback) fails them back and reprotects them" in run.reason
        view = stack.app.engine.get(run_id)
        shown = run_view(view.run, view.history)
        assert shown["rollbackRun"] == linked and shown["links"][0]["runId"] == linked
        done = stack.finish(linked)
        assert done.status is RunStatus.SUCCEEDED, done.error
        assert all(_protected(stack, vm, "eastus", original=True) for vm in VMS)
        back_view = stack.app.engine.get(linked)
        assert run_view(back_view.run, back_view.history)["linkedFrom"]["runId"] == run_id
        # One plan failover, then db alone: commit + reprotect here, failover + commit + reprotect back.
        assert stack.posts("unplannedFailover") == 2 and stack.posts("failoverCommit") == 2
        assert stack.posts("switchprotection") == 2
        decided = [h for h in stack.app.engine.get(run_id).history if h.event.value == "decide"]
        assert [(h.actor, h.details["choice"]) for h in decided] == [("operator", "rollback")]


def test_commit_keeps_group_1_then_retry_finishes_the_failed_vms(dr_stack: Any) -> None:
    with dr_stack(topology(VMS, [PLAN])) as stack:
        run_id = _paused(stack)
        stack.app.engine.decide(run_id, "commit", by="operator")
        run = stack.finish(run_id)
        assert run.status is RunStatus.PARTIALLY_SUCCEEDED, run.error
        assert _protected(stack, "db", "westus", original=False)
        assert all(_protected(stack, vm, "eastus", original=True) for vm in ("app-1", "web-1"))
        assert stack.posts("failoverCommit") == 1 and stack.posts("switchprotection") == 1

        stack.app.engine.resume(run_id, by="operator", reason="retry the failed VMs")
        again = stack.finish(run_id)
        assert again.status is RunStatus.SUCCEEDED, again.error
        assert all(_protected(stack, vm, "westus", original=False) for vm in VMS)
        # The plan job once, then app-1 and web-1 one by one (in group order); one commit and reprotect per VM.
        assert stack.posts("unplannedFailover") == 3
        assert stack.posts("failoverCommit") == 3 and stack.posts("switchprotection") == 3
