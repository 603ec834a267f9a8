"""Per-VM pipelining for VM-list runs: each VM moves to commit and reprotect as soon as its own failover is done.

A barrier per phase lets one slow VM hold every other back from commit and reprotect. While the failover
step of a VM-list run is still waiting on some VMs, each of its calls also commits the VMs whose failover
is done, and reprotects those whose commit is done, with the same two listings (one vault-wide item
listing, one jobs listing). Boot-group order still gates the failover starts (``item_phase``); a recovery
plan keeps ASR's plan-level jobs and is never pipelined.

Safety first: a VM is committed early only while no VM of the run has failed and nobody asked to cancel.
The moment one fails, pipelining stops and the run goes on as before: it waits for the failover of the
others, then pauses for an operator (``partial``), who sees per VM what is committed already. A VM only
goes on to the next phase in the call *after* the one that saw its previous phase done, so that the item
listing it is judged on shows the item after that phase.
"""

from __future__ import annotations

import itertools
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


def pipelines(req: DrRequest, state: RunState) -> bool:
    """Pure: whether this call of a VM-list failover may move VMs past the failover one by one."""
    if req.plan or not req.auto_commit or state.stop_requested:
        return False
    return all(row.active for row in state.vms.values())


def ready_for(phase: str, before: str, state: RunState) -> list[tuple[str, VmProgress]]:
    """VMs that finished ``before`` (in an earlier call) and have not finished ``phase``."""
    return [(vm, row) for vm, row in state.pending(phase) if before in row.done]


def run_pipelined(
    ctx: StepContext, deps: DrDeps, state: RunState, req: DrRequest, phases: tuple[ActionPhase, ...]
) -> Outcome:
    """The first phase for every VM, and each later phase for the VMs ready for it; one wait for them all."""
    first, *later = phases
    if not req.auto_reprotect:
        later = later[:1]
    chain = [first, *later]
    # Decided before this call changes anything: a VM moves on only in the call after its previous phase.
    ready = {p.name: ready_for(p.name, prev.name, state) for prev, p in itertools.pairwise(chain)}
    runs = {p.name: PhaseRun(p, ctx, deps, req, state) for p in chain}
    since = min(listing_since(r) for r in runs.values())
    shared = SharedReads(by_vm_name(deps.asr.list_protected_items()), since)
    outcome = item_phase(runs[first.name], list(state.pending(first.name)), shared)
    waits: list[Wait] = [outcome] if isinstance(outcome, Wait) else []
    details: dict[str, object] = {}
    for phase in later:
        todo = ready[phase.name]
        if not todo or not all(row.active for row in state.vms.values()):
            continue  # a VM failed in this call: nothing more moves early
        moved = item_phase(runs[phase.name], todo, shared)
        details[phase.name] = dict(moved.details) if isinstance(moved, (Wait, Next)) else {}
        if isinstance(moved, Wait) and any(row.jobs.get(phase.name) for _vm, row in todo):
            waits.append(moved)
    if isinstance(outcome, Next):
        return Next(outcome.reason, {**outcome.details, "pipelined": details} if details else outcome.details)
    assert isinstance(outcome, Wait)  # item_phase answers Next or Wait
    delay = min((w.delay for w in waits), default=timedelta(seconds=req.timing.job_poll_s))
    merged = {**outcome.details, "pipelined": details} if details else outcome.details
    return Wait(delay, outcome.reason + _summary(details), merged)


def _summary(details: dict[str, object]) -> str:
    parts = []
    for phase, d in details.items():
        if isinstance(d, dict):
            parts.append(f"{phase}: {d.get('running', 0)} running, {len(d.get('started') or [])} started")
    return f"; pipelined {'; '.join(parts)}" if parts else ""
