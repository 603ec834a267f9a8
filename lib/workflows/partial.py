"""A failover that failed for some VMs never commits on its own: the run stops before commit and asks.

``awaiting-decision`` (the engine's ``Decide``) names, per VM, what is where, and offers three choices:

- ``commit``: commit and reprotect the VMs that failed over; the failed ones stay where they are (the run
  ends partially succeeded, and ``retry`` (resume) can fail them over later);
- ``retry``: fail the failed VMs over again, then decide afresh;
- ``rollback``: commit and reprotect the VMs that failed over, then a linked failback run (a new run, its
  id kept on this one; its reason names this run) brings them back and protects them in the original
  direction. A2A has no way back from a failover but this return trip.
"""

from __future__ import annotations

from lib.domain.dr import DrRequest, Kind
from lib.engine import Decide, Done, Next, Outcome, StepContext
from lib.workflows.action import NOT_STARTED
from lib.workflows.deps import DrDeps
from lib.workflows.json_fields import Json
from lib.workflows.runstate import RunLink, RunState
from lib.workflows.steps import request
from lib.workflows.vmstate import VmProgress

__all__ = [
    "CHOICES", "COMMIT_CHOICES", "DECISION", "apply_choice", "decide_partial", "placement", "return_trip", "where",
]  # fmt: skip

DECISION = "partial-failover"
CHOICES = ("commit", "retry", "rollback")
COMMIT_CHOICES = ("commit", "rollback")  # before the commit of a failover that went well (auto-commit off)


def placement(row: VmProgress) -> str:
    """Pure: where one VM of a failover is, in words an operator acts on."""
    if "failover" not in row.done:
        if row.error is None:
            return "not failed over yet"
        return "untouched" if row.error.code == NOT_STARTED else "failed"
    for phase, words in (("healthy", "protected"), ("reprotect", "reprotected"), ("commit", "committed")):
        if phase in row.done:
            return f"failed over, {words}"
    if "commit" in row.jobs:  # a per-VM commit (commitMode per-vm) still running
        return "failed over, committing"
    return "failed over, uncommitted"


def where(state: RunState) -> Json:
    """Per VM: where it is, the region it runs in, and its own error (if any)."""
    out: Json = {}
    for vm, row in sorted(state.vms.items()):
        moved = "failover" in row.done
        entry: Json = {"where": placement(row), "region": row.to_region if moved else row.from_region}
        if row.error is not None:
            entry["error"] = row.error.to_json()
        out[vm] = entry
    return out


def _failed(state: RunState) -> list[str]:
    return sorted(vm for vm, row in state.vms.items() if not row.active and row.error and row.error.phase == "failover")


def _moved(state: RunState) -> list[str]:
    return sorted(vm for vm, row in state.vms.items() if "failover" in row.done)


def decide_partial(ctx: StepContext, state: RunState) -> Outcome | None:
    """Before commit: None when no VM failed its failover; else the question, or the operator's answer."""
    failed = _failed(state)
    if not failed:
        return None
    if ctx.decision:
        return apply_choice(ctx, state, failed)
    moved = _moved(state)
    committed = _committed(state)
    return Decide(
        DECISION,
        f"failover failed for {len(failed)} of {len(state.vms)} VMs ({', '.join(failed)}); {len(moved)} run in the"
        f" target region, {_committed_words(committed)}: choose commit (keep them there and reprotect), retry (fail"
        " the failed VMs over again) or rollback (commit, reprotect, then a return trip brings them back)",
        CHOICES,
        details={"vms": where(state), **({"committedPerVm": committed} if committed else {})},
    )


def _committed(state: RunState) -> list[str]:
    """VMs committed (or committing) before the decision: only a run that asked to commit per VM has any."""
    return sorted(vm for vm, row in state.vms.items() if "commit" in row.done or (row.active and "commit" in row.jobs))


def _committed_words(committed: list[str]) -> str:
    if not committed:
        return "uncommitted"
    return (
        f"of which {', '.join(committed)} already committed on their own (the request asked to commit each VM as"
        " soon as its failover was done; a commit cannot be undone), the rest uncommitted"
    )


def apply_choice(ctx: StepContext, state: RunState, failed: list[str]) -> Outcome:
    """Act on the operator's choice before commit; ``failed`` are the VMs whose failover failed."""
    choice, by = str(ctx.decision), ctx.approved_by or ""
    state.choice, state.chosen_by = choice, by
    if choice == "retry":
        for vm in failed:
            row = state.vms[vm]
            row.jobs.pop("failover", None)  # the failed job is evidence, not something to poll again
            row.reactivate()
        return Next(f"retry chosen by {by}: failing over {', '.join(failed)} again", goto="failover")
    if state.plan is not None and "commit" not in state.plan.processed:
        state.plan.processed.append("commit")  # a plan-level commit would reach for the VMs that failed too
    moved = _moved(state)
    then = (
        ": this run commits and reprotects them (an A2A failover has no other way forward), then a linked"
        " failback run fails them back and reprotects them in the original direction"
        if choice == "rollback"
        else ""
    )
    stay = f"; {', '.join(failed)} stay where they are" if failed else ""
    return Next(
        f"{choice} chosen by {by}: commit and reprotect {', '.join(moved) or 'no VM'}{then}{stay}",
        {"vms": where(state)},
    )


def return_trip(ctx: StepContext, deps: DrDeps, state: RunState, outcome: Outcome) -> Outcome:
    """After a rollback's commit and reprotect: start the linked failback run of the reprotected VMs (once:
    the idempotency key is this run's), and say so in the run's outcome."""
    back = sorted(vm for vm, row in state.vms.items() if row.active and "reprotect" in row.done)
    if state.choice != "rollback" or state.linked_run or not isinstance(outcome, Done) or not back:
        return outcome  # a run resumed after its rollback started keeps that one return trip, and says no more
    if deps.start_run is None:
        raise RuntimeError("a rollback needs DrDeps.start_run to start its return trip")
    req = request(ctx)
    kind: Kind = "failover" if req.kind == "failback" else "failback"  # the way back is the other direction
    by = state.chosen_by
    failback = DrRequest(
        kind=kind, vms=tuple(back), groups=(tuple(back),), parallelism=req.parallelism, timing=req.timing,
        reason=f"rollback of run {ctx.run_id}, chosen by {by}: that run committed and reprotected"
        f" {', '.join(back)}; this one fails them back and reprotects them in the original direction",
        requested_by=by,
    )  # fmt: skip
    payload = {**failback.to_json(), "linkedFrom": {"runId": ctx.run_id, "reason": "rollback", "by": by}}
    state.linked_run = deps.start_run(kind, payload, f"rollback-of-{ctx.run_id}", by)
    state.links.append(RunLink(state.linked_run, "rollback", kind, by))
    return Done(
        f"{outcome.reason}; rollback: this run committed and reprotected {', '.join(back)}, linked run"
        f" {state.linked_run} ({kind}) fails them back and reprotects them in the original direction",
        partial=outcome.partial,
        details={**outcome.details, "linked_run": state.linked_run, "vms": where(state)},
    )
