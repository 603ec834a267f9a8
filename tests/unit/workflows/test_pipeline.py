"""Per-VM pipelining of VM-list runs (``lib.workflows.pipeline``): the failover is a barrier, then a slow commit
holds no other VM back from reprotect."""

from __future__ import annotations

from typing import Any

from lib.domain.asr import ItemRef
from lib.domain.dr import parse_request
from lib.engine import Decide, Done, Wait
from lib.workflows.failover import FAILOVER_WORKFLOW
from lib.workflows.pipeline import pipelines
from lib.workflows.runstate import RunState
from lib.workflows.vmstate import VmProgress
from tests.unit.workflows.fake_asr import FakeSiteRecovery
from tests.unit.workflows.harness import make_deps, run

FAST = {"jobPollSeconds": 1, "healthPollSeconds": 1, "healthPollMaxSeconds": 4}
VMS = ["web-0", "web-1", "web-2"]


class BarrierCheckingAsr(FakeSiteRecovery):
    """Records, at every commit ASR is asked for, the VMs whose failover was still running or had failed."""

    def __init__(self, vms: list[str]) -> None:
        super().__init__(vms)
        self.unsafe_commits: list[tuple[str, list[str]]] = []

    def commit(self, ref: ItemRef) -> str:
        failovers = {vm: name for name, (vm, action, _left) in self.pending.items() if action == "failover"}
        failed = [
            j.target_name for j in self.jobs.values() if j.scenario == "UnplannedFailover" and j.state != "Succeeded"
        ]
        not_done = sorted(set(failovers) | set(failed))
        if not_done:
            self.unsafe_commits.append((ref.name, not_done))
        return super().commit(ref)


def _body(**extra: Any) -> dict[str, Any]:
    return parse_request("failover", {"target": {"vms": VMS}, "timing": FAST, **extra}).to_json()


def _pipelined(history: list[Any], phase: str) -> set[str]:
    """VMs whose ``phase`` started inside the commit step (before every commit was done)."""
    started: set[str] = set()
    for step, outcome in history:
        if step == "commit" and isinstance(outcome, Wait):
            started.update(outcome.details.get("pipelined", {}).get(phase, {}).get("started", []))
    return started


def test_no_vm_is_committed_while_another_vms_failover_still_runs() -> None:
    asr = BarrierCheckingAsr(VMS)
    asr.slow[("failover", "web-2")] = 12
    result = run(FAILOVER_WORKFLOW, make_deps(asr), _body())
    assert isinstance(result.outcome, Done)
    assert asr.unsafe_commits == []
    first_commit = min(i for i, (action, _vm) in enumerate(asr.actions) if action == "commit")
    assert all(action != "failover" for action, _vm in asr.actions[first_commit:])
    assert all(asr.actions.count((a, vm)) == 1 for a in ("failover", "commit", "reprotect") for vm in VMS)


def test_a_failed_failover_commits_nothing_and_the_run_asks() -> None:
    asr = BarrierCheckingAsr(VMS)
    asr.fail_next[("failover", "web-1")] = "70094"
    asr.slow[("failover", "web-2")] = 8
    result = run(FAILOVER_WORKFLOW, make_deps(asr), _body())
    assert isinstance(result.outcome, Decide)  # a partial failover never commits on its own
    assert [a for a in asr.actions if a[0] == "commit"] == []  # web-0 and web-2 finished, web-1 failed: no commit
    assert asr.unsafe_commits == []


def test_fast_vms_reprotect_while_a_slow_vm_still_commits() -> None:
    asr = BarrierCheckingAsr(VMS)
    asr.slow[("commit", "web-2")] = 12
    result = run(FAILOVER_WORKFLOW, make_deps(asr), _body())
    assert isinstance(result.outcome, Done)
    assert _pipelined(result.history, "reprotect") == {"web-0", "web-1"}
    # web-0 was reprotecting while web-2's commit still ran: no barrier between commit and reprotect.
    reprotect_web0 = asr.actions.index(("reprotect", "web-0"))
    assert asr.actions.index(("commit", "web-2")) < reprotect_web0
    assert asr.unsafe_commits == []
    assert all(asr.actions.count((a, vm)) == 1 for a in ("failover", "commit", "reprotect") for vm in VMS)
    assert all("healthy" in row["done"] for row in result.state["vms"].values())


def test_boot_groups_still_gate_the_failover_and_commit_waits_for_every_group() -> None:
    asr = BarrierCheckingAsr(VMS)
    asr.slow[("failover", "web-0")] = 6
    result = run(FAILOVER_WORKFLOW, make_deps(asr), _body(target={"groups": [["web-0"], ["web-1", "web-2"]]}))
    assert isinstance(result.outcome, Done)
    failovers = [vm for action, vm in asr.actions if action == "failover"]
    assert failovers[0] == "web-0"
    assert asr.actions.index(("failover", "web-1")) > asr.actions.index(("failover", "web-0"))
    assert asr.unsafe_commits == []


def _row(done: list[str], active: bool = True) -> VmProgress:
    row = VmProgress(item="i", fabric="f", container="c", group=0, to_region="westus")
    row.done = list(done)
    if not active:
        row.mark_failed("failover", "70094", "failed")
    return row


def test_only_a_vm_list_run_past_the_failover_barrier_is_pipelined() -> None:
    vms = parse_request("failover", {"target": {"vms": VMS}})
    state = RunState()
    state.vms = {"web-0": _row(["failover"]), "web-1": _row(["failover", "commit"])}
    assert pipelines(vms, state)
    assert not pipelines(parse_request("failover", {"target": {"recoveryPlan": "p"}}), state)
    assert not pipelines(parse_request("failover", {"target": {"vms": VMS}, "autoReprotect": False}), state)
    state.vms["web-2"] = _row([])  # its failover is not done: nothing is pipelined
    assert not pipelines(vms, state)
    state.vms["web-2"] = _row([], active=False)  # its failover failed
    assert not pipelines(vms, state)
    state.vms["web-2"] = _row(["failover"])
    state.stop_requested = True
    assert not pipelines(vms, state)
