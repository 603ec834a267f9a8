"""Per-VM pipelining of VM-list runs: in one step call, VMs that finished one phase go on to the next.

Two modes (the request's ``commitMode``):

- ``together`` (the default): the failover is a barrier. Nothing is committed until every VM's failover is done
  and none failed (a partial failover never commits on its own; ``await_commit`` asks an operator instead). Past
  that barrier a slow commit holds no other VM back from reprotect: while the commit step still waits on some
  VMs, each of its calls also reprotects the VMs whose commit is done. A VM that fails its commit in a call
  stops the others moving on early in that call.
- ``per-vm`` (opt-in, for VMs the operator says are independent): while the failover step still waits on some
  VMs, each of its calls also commits the VMs whose own failover is done, reprotects those whose own commit
  is done, and watches those whose own reprotect is done until they are protected and healthy (an observation
  from the same listing, so that a VM protected early is not noticed only when the last VM is). Boot-group order
  still gates the failover starts (``item_phase``). A VM whose failover fails does not hold the others back;
  the run still stops at the decision point once every failover ended (``lib.workflows.partial``), and the VMs
  committed by then stay committed.

Either way every call makes the same two reads for all its phases (one vault-wide item listing, one jobs
listing: ``SharedReads``), a recovery plan keeps ASR's plan-level jobs and is never pipelined, and a cancel
asked for moves nothing on (nothing new starts).

A VM goes on to a phase only in the call *after* the one that saw it finish the phase before, so that the item
listing it is judged on shows the item after that phase (and a crash in between re-observes it first).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from itertools import pairwise

from lib.domain.asr import ProtectedItem
from lib.domain.dr import DrRequest
from lib.engine import Next, Outcome, StepContext, Wait
from lib.ports.site_recovery import by_vm_name
from lib.workflows.action import ActionPhase, PhaseRun
from lib.workflows.deps import DrDeps
from lib.workflows.health import PHASE as HEALTHY
from lib.workflows.health import record, watch
from lib.workflows.item_phase import SharedReads, item_phase, listing_since
from lib.workflows.json_fields import Json
from lib.workflows.runstate import PlanProgress, RunState

__all__ = ["chain", "moving_on", "pipelines", "run_pipelined"]

BARRIER = "failover"  # in "together" mode every VM must be past it, none failed, before anything is committed
AFTER_FAILOVER = ("commit", "reprotect")
PhaseTable = Mapping[str, ActionPhase]


def chain(step: str, req: DrRequest) -> tuple[str, ...]:
    """Pure: the phases one call of ``step`` may handle, the step's own first (``healthy``: watched, per-vm)."""
    if req.plan:
        return (step,)
    seq: tuple[str, ...] = (BARRIER, *(AFTER_FAILOVER if req.auto_reprotect else AFTER_FAILOVER[:1]))
    if not req.per_vm_commit:
        seq = seq[1:]  # "together": the failover is a barrier, VMs move on one by one from the commit
    elif req.auto_reprotect:
        seq = (*seq, HEALTHY)
    return seq[seq.index(step) :] if step in seq else (step,)


def pipelines(req: DrRequest, state: RunState) -> bool:
    """Pure: whether this call of a VM-list run may move VMs on to later phases one by one."""
    if req.plan or state.stop_requested:
        return False
    rows = state.vms.values()
    if req.per_vm_commit:
        return True
    return req.auto_reprotect and all(row.active and BARRIER in row.done for row in rows)


def moving_on(req: DrRequest, state: RunState, phases: Sequence[str]) -> dict[str, list[str]]:
    """Pure: per later phase of ``phases``, the VMs that go on to it in this call: active VMs that finished the
    phase before it in an earlier call and not this one (a job already running in it is polled)."""
    if len(phases) < 2 or not pipelines(req, state):
        return {}
    moves: dict[str, list[str]] = {}
    for before, phase in pairwise(phases):
        vms = sorted(vm for vm, row in state.pending(phase) if before in row.done)
        if vms:
            moves[phase] = vms
    return moves


def run_pipelined(
    ctx: StepContext, deps: DrDeps, state: RunState, req: DrRequest, names: Sequence[str], *, by_name: PhaseTable
) -> Outcome:
    """``names[0]`` for every VM, and each later phase for the VMs ``moving_on`` names; one wait for them all."""
    moves = moving_on(req, state, names)  # decided before this call changes anything
    phases = [by_name[name] for name in names if name in by_name]
    if state.plan is None:
        state.plan = PlanProgress(None)
    runs = [PhaseRun(p, ctx, deps, req, state) for p in phases]
    shared = SharedReads(by_vm_name(deps.asr.list_protected_items()), min(listing_since(r) for r in runs))
    outcome = item_phase(runs[0], list(state.pending(phases[0].name)), shared)
    moved: dict[str, Outcome] = {}
    # "together": a VM that failed in this call stops the others moving on early (the commit step's rule).
    if req.per_vm_commit or all(row.active for row in state.vms.values()):
        for run in runs[1:]:
            todo = [(vm, state.vms[vm]) for vm in moves.get(run.phase.name, []) if state.vms[vm].active]
            if todo:
                moved[run.phase.name] = item_phase(run, todo, shared)
    details = {name: dict(o.details) for name, o in moved.items() if isinstance(o, (Wait, Next))}
    if moves.get(HEALTHY):
        details[HEALTHY] = {"progress": _watch_healthy(ctx, state, shared.items, moves[HEALTHY])}
    merged = {**outcome.details, "pipelined": details} if details else outcome.details
    if isinstance(outcome, Next):
        return Next(outcome.reason, merged)
    assert isinstance(outcome, Wait)  # item_phase answers Next or Wait
    delay = min([outcome.delay, *_waits(state, moves, moved)], default=timedelta(seconds=req.timing.job_poll_s))
    return Wait(delay, outcome.reason + _summary(details), merged)


def _watch_healthy(ctx: StepContext, state: RunState, items: Mapping[str, ProtectedItem], vms: list[str]) -> Json:
    """Record what the listing shows of VMs whose reprotect is done, as ``await_healthy`` would (its ``watch``)."""
    progress: Json = {}
    before, state.health_read_at = state.health_read_at, ctx.now  # one listing reads every watched VM
    for vm in vms:
        seen = watch(items.get(vm.lower()), state.vms[vm])
        record(state.vms[vm], seen, ctx, before)
        progress[vm] = seen.to_json()
    return progress


def _waits(state: RunState, moves: Mapping[str, list[str]], moved: Mapping[str, Outcome]) -> list[timedelta]:
    """The waits of the later phases that have a job of theirs to read (a job started, running or just ended)."""
    return [
        o.delay
        for name, o in moved.items()
        if isinstance(o, Wait) and any(name in state.vms[vm].jobs for vm in moves.get(name, []))
    ]


def _summary(details: dict[str, dict[str, object]]) -> str:
    parts = []
    for phase, d in details.items():
        progress = d.get("progress")
        if isinstance(progress, Mapping):  # the health watch: how many of the VMs watched are healthy
            parts.append(f"{phase}: {sum(1 for v in progress.values() if v == 'healthy')}/{len(progress)}")
            continue
        started = d.get("started")
        count = len(started) if isinstance(started, list) else 0
        parts.append(f"{phase}: {d.get('running', 0)} running, {count} started")
    return f"; pipelined {'; '.join(parts)}" if parts else ""
