"""A partial failover stops before commit and asks; cancel is let through only while nothing moved."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from lib.engine import CancelRefused, Decide, Done, StopRequested
from lib.workflows.cancel import on_cancel, on_drill_cancel
from lib.workflows.failover import FAILOVER_WORKFLOW
from lib.workflows.partial import CHOICES
from lib.workflows.runstate import PlanProgress, RunState
from lib.workflows.vmstate import VmProgress
from tests.unit.workflows.fake_asr import FakeSiteRecovery
from tests.unit.workflows.harness import make_deps, run
from tests.unit.workflows.test_failover_logic import req


def test_a_failed_vm_stops_the_failover_before_commit_naming_what_is_where() -> None:
    asr = FakeSiteRecovery(["web-1", "web-2"])
    asr.fail_next[("failover", "web-2")] = "70094"
    result = run(FAILOVER_WORKFLOW, make_deps(asr), req())
    assert isinstance(result.outcome, Decide) and result.outcome.choices == CHOICES
    assert result.run.status.value == "awaiting-decision" and result.run.choices == CHOICES
    assert [a for a, _ in asr.actions] == ["failover", "failover"]  # nothing committed on its own
    vms = result.outcome.details["vms"]
    assert vms["web-1"] == {"where": "failed over, uncommitted", "region": "westus"}
    assert vms["web-2"]["where"] == "failed" and vms["web-2"]["region"] == "eastus"
    assert vms["web-2"]["error"]["code"] == "70094"


def test_retry_fails_over_only_the_failed_vm_then_commits_all() -> None:
    asr = FakeSiteRecovery(["web-1", "web-2"])
    asr.fail_next[("failover", "web-2")] = "70094"
    result = run(FAILOVER_WORKFLOW, make_deps(asr), req(), decide="retry")
    assert isinstance(result.outcome, Done) and not result.outcome.partial
    assert [vm for a, vm in asr.actions if a == "failover"] == ["web-1", "web-2", "web-2"]
    assert sorted(vm for a, vm in asr.actions if a == "commit") == ["web-1", "web-2"]
    assert result.state["choice"] == "retry" and result.state["chosen_by"] == "tester"


def test_commit_commits_and_reprotects_only_what_failed_over() -> None:
    asr = FakeSiteRecovery(["web-1", "web-2"])
    asr.fail_next[("failover", "web-2")] = "70094"
    result = run(FAILOVER_WORKFLOW, make_deps(asr), req(), decide="commit")
    assert isinstance(result.outcome, Done) and result.outcome.partial
    assert [(a, vm) for a, vm in asr.actions if a != "failover"] == [("commit", "web-1"), ("reprotect", "web-1")]
    assert asr.items["web-2"].primary_location == "eastus"


def _state(**rows: VmProgress) -> dict[str, object]:
    return RunState(vms=dict(rows)).to_json()


def _row(done: list[str] | None = None, jobs: dict[str, str] | None = None) -> VmProgress:
    return VmProgress("web-1", "f", "c", 0, done=done or [], jobs=jobs or {}, from_region="eastus", to_region="westus")


def test_cancel_goes_through_before_any_vm_failed_over() -> None:
    assert on_cancel({}, "preflight") is None
    assert on_cancel(_state(**{"web-1": _row()}), "failover") is None


def test_cancel_while_a_failover_job_runs_is_a_request_the_run_carries_out() -> None:
    running = on_cancel(_state(**{"web-1": _row(jobs={"failover": "j1"})}), "failover")
    assert isinstance(running, StopRequested) and "web-1" in running.reason
    assert running.state["stop_requested"] is True and running.state["vms"]["web-1"]["jobs"] == {"failover": "j1"}


def test_cancel_is_refused_after_failover_naming_the_choices() -> None:
    moved = on_cancel(_state(**{"web-1": _row(done=["failover"], jobs={"failover": "j1"})}), "await_commit")
    assert isinstance(moved, CancelRefused) and "uncommitted" in moved.reason
    assert moved.choices == ("commit", "rollback")
    reprotecting = _row(done=["failover", "commit"], jobs={"failover": "j1", "commit": "j2", "reprotect": "j3"})
    later = on_cancel(_state(**{"web-1": reprotecting}), "reprotect")
    assert isinstance(later, CancelRefused) and "reprotected" in later.reason


def test_cancel_while_a_plan_failover_job_runs_is_a_request() -> None:
    state = RunState(vms={"web-1": _row()}, plan=PlanProgress("app", jobs={"failover": "pj"}))
    requested = on_cancel(state.to_json(), "failover")
    assert isinstance(requested, StopRequested) and "web-1" in requested.reason


def test_a_drill_cancel_goes_through_before_its_test_failover_and_is_a_request_after() -> None:
    assert on_drill_cancel(_state(**{"web-1": _row()}), "test_failover") is None
    started = on_drill_cancel(_state(**{"web-1": _row(jobs={"test_failover": "t1"})}), "test_failover")
    assert isinstance(started, StopRequested) and "cleaned up" in started.reason
    validating = on_drill_cancel(_state(**{"web-1": _row(done=["test_failover"])}), "validate")
    assert isinstance(validating, StopRequested) and validating.state["stop_requested"] is True
    assert on_drill_cancel(_state(**{"web-1": _row(done=["test_failover", "cleanup"])}), "report") is None
    unreadable = on_drill_cancel({"version": 99}, "validate")
    assert isinstance(unreadable, CancelRefused)


def test_rollback_commits_and_reprotects_then_starts_one_linked_failback_of_what_moved() -> None:
    asr = FakeSiteRecovery(["web-1", "web-2"])
    asr.fail_next[("failover", "web-2")] = "70094"
    started: list[tuple[str, dict[str, object], str, str]] = []

    def start_run(workflow: str, payload: Mapping[str, Any], key: str, actor: str) -> str:
        started.append((workflow, dict(payload), key, actor))
        return "run-back"

    deps = replace(make_deps(asr), start_run=start_run)
    result = run(FAILOVER_WORKFLOW, deps, req(), decide="rollback")
    assert isinstance(result.outcome, Done) and result.outcome.partial
    assert [(a, vm) for a, vm in asr.actions if a != "failover"] == [("commit", "web-1"), ("reprotect", "web-1")]
    [(workflow, payload, key, actor)] = started
    assert (workflow, payload["vms"], key, actor) == (
        "failback",
        ["web-1"],
        f"rollback-of-{result.run.run_id}",
        "tester",
    )
    assert result.run.run_id in str(payload["reason"]) and result.state["linked_run"] == "run-back"
    assert result.outcome.details["linked_run"] == "run-back"
