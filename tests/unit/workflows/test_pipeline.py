"""Per-VM pipelining of VM-list runs (``lib.workflows.pipeline``): a slow VM holds no other back."""

from __future__ import annotations

from typing import Any

from lib.domain.dr import parse_request
from lib.engine import Decide, Done, Wait
from lib.workflows.failover import FAILOVER_WORKFLOW
from lib.workflows.pipeline import pipelines
from lib.workflows.runstate import RunState
from tests.unit.workflows.fake_asr import FakeSiteRecovery
from tests.unit.workflows.harness import make_deps, run

FAST = {"jobPollSeconds": 1, "healthPollSeconds": 1, "healthPollMaxSeconds": 4}
VMS = ["web-0", "web-1", "web-2"]


def _body(**extra: Any) -> dict[str, Any]:
    return parse_request("failover", {"target": {"vms": VMS}, "timing": FAST, **extra}).to_json()


def _pipelined(history: list[Any], phase: str) -> set[str]:
    """VMs whose ``phase`` started inside the failover step (before every failover was done)."""
    started: set[str] = set()
    for step, outcome in history:
        if step == "failover" and isinstance(outcome, Wait):
            started.update(outcome.details.get("pipelined", {}).get(phase, {}).get("started", []))
    return started


def test_fast_vms_commit_and_reprotect_while_a_slow_vm_still_fails_over() -> None:
    asr = FakeSiteRecovery(VMS)
    asr.slow[("failover", "web-2")] = 12
    result = run(FAILOVER_WORKFLOW, make_deps(asr), _body())
    assert isinstance(result.outcome, Done)
    assert _pipelined(result.history, "commit") == {"web-0", "web-1"}
    assert _pipelined(result.history, "reprotect") == {"web-0", "web-1"}
    # web-0 was reprotecting before web-2 was even committed: no barrier between the phases.
    assert asr.actions.index(("reprotect", "web-0")) < asr.actions.index(("commit", "web-2"))
    assert all(asr.actions.count((a, vm)) == 1 for a in ("failover", "commit", "reprotect") for vm in VMS)
    assert all("healthy" in row["done"] for row in result.state["vms"].values())


def test_boot_groups_still_gate_the_failover_starts() -> None:
    asr = FakeSiteRecovery(VMS)
    asr.slow[("failover", "web-0")] = 6
    result = run(FAILOVER_WORKFLOW, make_deps(asr), _body(target={"groups": [["web-0"], ["web-1", "web-2"]]}))
    assert isinstance(result.outcome, Done)
    failovers = [vm for action, vm in asr.actions if action == "failover"]
    assert failovers[0] == "web-0"
    # The next group starts failing over only once web-0's failover is done; web-0 then moves on meanwhile.
    assert asr.actions.index(("failover", "web-1")) > asr.actions.index(("failover", "web-0"))
    assert _pipelined(result.history, "commit") >= {"web-0"}


def test_a_failed_vm_stops_the_pipeline_and_the_run_asks_before_any_further_commit() -> None:
    asr = FakeSiteRecovery(VMS)
    asr.fail_next[("failover", "web-1")] = "70094"
    asr.slow[("failover", "web-2")] = 8
    result = run(FAILOVER_WORKFLOW, make_deps(asr), _body())
    assert isinstance(result.outcome, Decide)  # a partial failover never commits on its own
    assert [a for a in asr.actions if a[0] == "commit"] == []  # web-0 finished with web-1's failure: no commit


def test_plans_cancels_and_manual_commits_are_not_pipelined() -> None:
    state = RunState()
    assert pipelines(parse_request("failover", {"target": {"vms": VMS}}), state)
    assert not pipelines(parse_request("failover", {"target": {"recoveryPlan": "p"}}), state)
    assert not pipelines(parse_request("failover", {"target": {"vms": VMS}, "autoCommit": False}), state)
    state.stop_requested = True
    assert not pipelines(parse_request("failover", {"target": {"vms": VMS}}), state)
