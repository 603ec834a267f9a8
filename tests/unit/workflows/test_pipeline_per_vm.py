"""``commitMode: per-vm`` (``lib.workflows.pipeline``): each VM commits as soon as its own failover is done and
reprotects as soon as its own commit is done; the default stays a barrier."""

from __future__ import annotations

from typing import Any

import pytest

from lib.domain.dr import parse_request
from lib.domain.errors import ValidationError
from lib.engine import Decide, Done, Next, Outcome, Wait
from lib.workflows.failover import FAILOVER_WORKFLOW
from lib.workflows.pipeline import chain, moving_on
from lib.workflows.runstate import PlanProgress, RunState
from lib.workflows.vmstate import VmProgress
from tests.unit.workflows.fake_asr import FakeSiteRecovery
from tests.unit.workflows.harness import make_deps, run
from tests.unit.workflows.test_pipeline import FAST, VMS, BarrierCheckingAsr

PER_VM = {"commitMode": "per-vm"}


def _body(**extra: Any) -> dict[str, Any]:
    return parse_request("failover", {"target": {"vms": VMS}, "timing": FAST, **extra}).to_json()


def _req(**extra: Any) -> Any:
    return parse_request("failover", {"target": {"vms": VMS}, **extra})


def _row(done: list[str], *, failed: bool = False, jobs: dict[str, str] | None = None) -> VmProgress:
    row = VmProgress(item="i", fabric="f", container="c", group=0, to_region="westus", jobs=dict(jobs or {}))
    row.done = list(done)
    if failed:
        row.mark_failed("failover", "70094", "failed")
    return row


def _in_step(history: list[tuple[str, Outcome]], step: str, phase: str, key: str = "started") -> list[str]:
    """VMs whose ``phase`` started (or finished) inside calls of ``step``, from the outcomes' details."""
    found: list[str] = []
    for name, outcome in history:
        if name == step and isinstance(outcome, (Wait, Next)):
            found += list(outcome.details.get("pipelined", {}).get(phase, {}).get(key, []))
    return found


# --- the pure decisions ---------------------------------------------------------------------------------------


def test_the_chain_a_step_handles() -> None:
    assert chain("failover", _req(**PER_VM)) == ("failover", "commit", "reprotect", "healthy")
    assert chain("failover", _req(**PER_VM, autoReprotect=False)) == ("failover", "commit")
    assert chain("failover", _req()) == ("failover",)  # the default: the failover is a barrier
    assert chain("commit", _req()) == ("commit", "reprotect")
    assert chain("commit", _req(**PER_VM)) == ("commit", "reprotect", "healthy")
    assert chain("commit", _req(autoReprotect=False)) == ("commit",)
    assert chain("reprotect", _req(**PER_VM)) == ("reprotect", "healthy")
    assert chain("reprotect", _req()) == ("reprotect",)
    plan = parse_request("failover", {"target": {"recoveryPlan": "p"}})
    assert chain("failover", plan) == ("failover",) and chain("commit", plan) == ("commit",)


def test_per_vm_moves_each_vm_on_from_its_own_progress() -> None:
    state = RunState()
    state.vms = {
        "web-0": _row(["failover"]),  # its failover is done: it commits
        "web-1": _row(["failover", "commit"]),  # its commit is done: it reprotects
        "web-2": _row([], jobs={"failover": "j2"}),  # its failover still runs
        "web-3": _row([], failed=True),  # its failover failed: it holds nobody back, and moves nowhere
        "web-4": _row(["failover"], jobs={"commit": "j4"}),  # its commit runs: polled with the commits
    }
    phases = ("failover", "commit", "reprotect")
    assert moving_on(_req(**PER_VM), state, phases) == {"commit": ["web-0", "web-4"], "reprotect": ["web-1"]}
    assert moving_on(_req(), state, phases) == {}  # "together": nothing moves before every failover is done
    assert moving_on(_req(**PER_VM), state, ("failover",)) == {}
    state.stop_requested = True  # a cancel was asked for: nothing new starts
    assert moving_on(_req(**PER_VM), state, phases) == {}


def test_together_moves_vms_on_only_past_the_barrier_with_none_failed() -> None:
    state = RunState()
    state.vms = {"web-0": _row(["failover", "commit"]), "web-1": _row(["failover"])}
    assert moving_on(_req(), state, ("commit", "reprotect")) == {"reprotect": ["web-0"]}
    state.vms["web-2"] = _row([], failed=True)
    assert moving_on(_req(), state, ("commit", "reprotect")) == {}
    assert moving_on(_req(**PER_VM), state, ("commit", "reprotect")) == {"reprotect": ["web-0"]}


# --- the request ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"target": {"vms": ["a"]}, "commitMode": "each"}, "must be one of together, per-vm"),
        ({"target": {"vms": ["a"]}, "commitMode": True}, "must be one of together, per-vm"),
        ({"target": {"recoveryPlan": "p"}, "commitMode": "per-vm"}, "a recovery plan commits with its plan job"),
        ({"target": {"vms": ["a"]}, "commitMode": "per-vm", "autoCommit": False}, "autoCommit false forbids"),
    ],
)
def test_a_commit_mode_that_makes_no_sense_is_refused_naming_the_field(body: dict[str, Any], words: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_request("failover", body)
    assert caught.value.field == "commitMode" and words in caught.value.reason


def test_the_commit_mode_is_stored_only_when_it_is_per_vm() -> None:
    assert "commit_mode" not in _req().to_json()
    assert "commit_mode" not in _req(commitMode="together").to_json()
    stored = _req(**PER_VM).to_json()
    assert stored["commit_mode"] == "per-vm"
    from lib.domain.dr import request_from_json

    assert request_from_json(stored).per_vm_commit and not request_from_json(_req().to_json()).per_vm_commit


# --- the workflow on the fake ---------------------------------------------------------------------------------


def test_per_vm_commits_and_reprotects_fast_vms_while_a_slow_failover_still_runs() -> None:
    asr = BarrierCheckingAsr(VMS)
    asr.slow[("failover", "web-2")] = 12
    result = run(FAILOVER_WORKFLOW, make_deps(asr), _body(**PER_VM))
    assert isinstance(result.outcome, Done) and not result.outcome.partial
    assert sorted(_in_step(result.history, "failover", "commit")) == ["web-0", "web-1"]
    assert sorted(_in_step(result.history, "failover", "reprotect")) == ["web-0", "web-1"]
    # web-0 and web-1 were committed while web-2's failover still ran: what the operator opted into.
    assert [vm for vm, running in asr.unsafe_commits] == ["rpi-web-0", "rpi-web-1"]
    assert all(running == ["web-2"] for _vm, running in asr.unsafe_commits)
    assert all(asr.actions.count((a, vm)) == 1 for a in ("failover", "commit", "reprotect") for vm in VMS)
    assert all("healthy" in row["done"] for row in result.state["vms"].values())
    # web-0 and web-1 were seen protected and healthy while web-2 still failed over, from the same listings.
    seen = [o.details["pipelined"]["healthy"]["progress"] for s, o in result.history if s == "failover"
            and isinstance(o, Wait) and "healthy" in o.details.get("pipelined", {})]  # fmt: skip
    assert {vm for p in seen for vm, v in p.items() if v == "healthy"} == {"web-0", "web-1"}
    vms = result.state["vms"]
    slow_failover_end = result.state["jobs"][vms["web-2"]["jobs"]["failover"]]["end"]  # the job is the record
    assert max(vms[vm]["healthy_at"] for vm in ("web-0", "web-1")) < slow_failover_end


def test_the_default_still_commits_nothing_before_every_failover_is_done() -> None:
    asr = BarrierCheckingAsr(VMS)
    asr.slow[("failover", "web-2")] = 12
    result = run(FAILOVER_WORKFLOW, make_deps(asr), _body())
    assert isinstance(result.outcome, Done)
    assert asr.unsafe_commits == [] and _in_step(result.history, "failover", "commit") == []


def test_a_failed_failover_stops_at_the_decision_and_says_which_vms_committed_on_their_own() -> None:
    asr = FakeSiteRecovery(VMS)
    asr.fail_next[("failover", "web-1")] = "70094"
    asr.slow[("failover", "web-1")] = 8
    paused = run(FAILOVER_WORKFLOW, make_deps(asr), _body(**PER_VM))
    assert isinstance(paused.outcome, Decide) and paused.outcome.decision == "partial-failover"
    assert paused.outcome.details["committedPerVm"] == ["web-0", "web-2"]
    assert "web-0, web-2 already committed on their own" in paused.outcome.reason
    vms = paused.outcome.details["vms"]
    assert vms["web-1"]["where"] == "failed" and vms["web-0"]["where"].startswith("failed over, ")
    assert vms["web-0"]["where"] != "failed over, uncommitted"
    assert ("commit", "web-1") not in asr.actions

    asr2 = FakeSiteRecovery(VMS)
    asr2.fail_next[("failover", "web-1")] = "70094"
    asr2.slow[("failover", "web-1")] = 8
    done = run(FAILOVER_WORKFLOW, make_deps(asr2), _body(**PER_VM), decide="commit")
    assert isinstance(done.outcome, Done) and done.outcome.partial
    assert sorted(vm for a, vm in asr2.actions if a == "reprotect") == ["web-0", "web-2"]
    assert all(asr2.actions.count((a, vm)) == 1 for a in ("commit", "reprotect") for vm in ("web-0", "web-2"))


def test_per_vm_keeps_the_boot_groups_for_the_failover_starts() -> None:
    asr = FakeSiteRecovery(VMS)
    asr.slow[("failover", "web-0")] = 6
    body = _body(**PER_VM, target={"groups": [["web-0"], ["web-1", "web-2"]]})
    result = run(FAILOVER_WORKFLOW, make_deps(asr), body)
    assert isinstance(result.outcome, Done)
    failovers = [vm for action, vm in asr.actions if action == "failover"]
    assert failovers[0] == "web-0"
    # group 1 started only after web-0's failover ended; web-0 committed in that same call, before any other.
    assert asr.actions.index(("commit", "web-0")) > asr.actions.index(("failover", "web-1"))
    assert asr.actions.index(("commit", "web-0")) < asr.actions.index(("commit", "web-1"))
    assert "web-0" in _in_step(result.history, "failover", "commit")


def _failover_under_way(stop: bool) -> tuple[FakeSiteRecovery, Any]:
    """web-0's failover ended in an earlier call, web-1's still runs; ``stop``: a cancel was asked for then."""
    vms = VMS[:2]
    asr = FakeSiteRecovery(vms)
    asr.slow[("failover", "web-1")] = 4
    jobs = {vm: asr.unplanned_failover(asr.items[vm].ref, shutdown_source=True, recovery_point_id=None) for vm in vms}
    while asr.get_job(jobs["web-0"]).state == "InProgress":
        pass
    stored = RunState(plan=PlanProgress(None), stop_requested=stop)
    for group, vm in enumerate(vms):
        stored.vms[vm] = VmProgress(
            f"rpi-{vm}", "fa", "ca", group, jobs={"failover": jobs[vm]}, from_region="eastus", to_region="westus"
        )
    stored.vms["web-0"].done = ["failover"]
    body = parse_request("failover", {"target": {"vms": vms}, "timing": FAST, **PER_VM}).to_json()
    return asr, run(FAILOVER_WORKFLOW, make_deps(asr), body, state=stored.to_json(), start_at="failover")


def test_a_cancel_asked_for_before_any_vm_moved_commits_nothing_new() -> None:
    asr, stopped = _failover_under_way(stop=True)
    assert isinstance(stopped.outcome, Decide) and stopped.outcome.decision == "cancelled-after-failover"
    assert [a for a, _vm in asr.actions if a == "commit"] == []  # nothing new started once the cancel came
    assert _in_step(stopped.history, "failover", "commit") == []
    asr, going = _failover_under_way(stop=False)  # the same run not asked to stop commits web-0 at once
    assert isinstance(going.outcome, Done) and _in_step(going.history, "failover", "commit") == ["web-0"]


def test_drctl_asks_for_per_vm_commit_with_a_flag() -> None:
    from drctl.cli import parse, request_payload

    flagged = request_payload(parse(["failover", "--vms", "a,b", "--commit-per-vm"]))
    assert flagged["commitMode"] == "per-vm" and parse_request("failover", flagged).per_vm_commit
    assert "commitMode" not in request_payload(parse(["failback", "--vms", "a,b"]))
    with pytest.raises(ValidationError) as caught:
        parse_request("failover", request_payload(parse(["failover", "--plan", "p", "--commit-per-vm"])))
    assert caught.value.field == "commitMode"
