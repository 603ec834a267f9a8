"""Per-VM pipelining after the commit barrier: each VM goes on to reprotect as soon as its own commit is done.

The failover stays a barrier: nothing is committed until every VM's failover is done and none failed (a
partial failover never commits on its own; ``await_commit`` asks an operator instead). Past that barrier a
slow commit holds no other VM back from reprotect: while the commit step of a VM-list run still waits on
some VMs, each of its calls also reprotects the VMs whose commit is done, with the same two listings (one
vault-wide item listing, one jobs listing). A recovery plan keeps ASR's plan-level jobs and is never
pipelined, nor is a run with a failed VM, a cancel asked for, or reprotect off.

A VM goes on to reprotect only in the call *after* the one that saw its commit done, so that the item
listing it is judged on shows the item after its commit.
"""

from __future__ import annotations

from datetime import timedelta

from lib.domain.dr import DrRequest
from lib.engine import Next, Outcome, StepContext, Wait
from lib.ports.site_recovery import by_vm_name
from lib.workflows.action import ActionPhase, PhaseRun
from lib.workflows.deps import DrDeps
from lib.workflows.item_phase import SharedReads, item_phase, listing_since
from lib.workflows.runstate import RunState
from lib.workflows.vmstate import VmProgress

__all__ = ["pipelines", "run_pipelined"]

BARRIER = "failover"  # every VM must be past it, none failed, before anything is committed or pipelined


def pipelines(req: DrRequest, state: RunState) -> bool:
    """Pure: whether this call of a VM-list commit may move VMs on to reprotect one by one."""
    if req.plan or not req.auto_reprotect or state.stop_requested:
        return False
    rows = state.vms.values()
    return all(row.active and BARRIER in row.done for row in rows)


def ready_for(phase: str, before: str, state: RunState) -> list[tuple[str, VmProgress]]:
    """VMs that finished ``before`` (in an earlier call) and have not finished ``phase``."""
    return [(vm, row) for vm, row in state.pending(phase) if before in row.done]


def run_pipelined(
    ctx: StepContext, deps: DrDeps, state: RunState, req: DrRequest, *, first: ActionPhase, then: ActionPhase
) -> Outcome:
    """``first`` for every VM, and ``then`` for the VMs whose ``first`` is done; one wait for them all."""
    ready = ready_for(then.name, first.name, state)  # decided before this call changes anything
    runs = PhaseRun(first, ctx, deps, req, state), PhaseRun(then, ctx, deps, req, state)
    shared = SharedReads(by_vm_name(deps.asr.list_protected_items()), min(listing_since(r) for r in runs))
    outcome = item_phase(runs[0], list(state.pending(first.name)), shared)
    moved: Outcome | None = None
    if ready and all(row.active for row in state.vms.values()):  # a VM failed in this call: nothing moves early
        moved = item_phase(runs[1], ready, shared)
    details = {then.name: dict(moved.details)} if isinstance(moved, (Wait, Next)) else {}
    if isinstance(outcome, Next):
        return Next(outcome.reason, {**outcome.details, "pipelined": details} if details else outcome.details)
    assert isinstance(outcome, Wait)  # item_phase answers Next or Wait
    waits = [outcome]
    if isinstance(moved, Wait) and any(row.jobs.get(then.name) for _vm, row in ready):
        waits.append(moved)
    delay = min((w.delay for w in waits), default=timedelta(seconds=req.timing.job_poll_s))
    merged = {**outcome.details, "pipelined": details} if details else outcome.details
    return Wait(delay, outcome.reason + _summary(details), merged)


def _summary(details: dict[str, dict[str, object]]) -> str:
    parts = []
    for phase, d in details.items():
        started = d.get("started")
        count = len(started) if isinstance(started, list) else 0
        parts.append(f"{phase}: {d.get('running', 0)} running, {count} started")
    return f"; pipelined {'; '.join(parts)}" if parts else ""
