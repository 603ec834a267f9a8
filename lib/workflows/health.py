"""Await healthy: poll VM-level reprotect state until every VM is protected and healthy in the new direction.

Per poll: observe (ONE vault-wide listing, whatever the number of VMs) -> decide per VM and for the run
(pure functions) -> act (record, warn once, give up, or wait until
the window where replication can end: ``lib.domain.polling``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from lib.domain.asr import ProtectedItem
from lib.domain.dr import Timing
from lib.domain.events import REPROTECT_OVERDUE
from lib.domain.polling import HEALTH_DENSE_S, STALL_CAP_S, health_delay
from lib.engine import Next, Outcome, StepContext, Wait
from lib.ports.site_recovery import by_vm_name
from lib.workflows.deps import DrDeps
from lib.workflows.json_fields import Json
from lib.workflows.preflight import renew_locks
from lib.workflows.runstate import RunState
from lib.workflows.steps import request, ride_out
from lib.workflows.vmstate import VmProgress

PHASE = "healthy"


@dataclass(frozen=True)
class Watch:
    """What one poll saw of one VM."""

    missing: bool = False  # the item is not in the listing (this poll)
    healthy: bool = False  # protected, replication Normal, primary in the run's target region
    progress: int | None = None  # initial-replication percentage to record (the last known when not replicating)
    state: str = ""  # ASR protectionState
    health: str = ""  # ASR replicationHealth

    def to_json(self) -> object:
        if self.missing:
            return "missing"
        if self.healthy:
            return "healthy"
        return {"state": self.state, "pct": self.progress, "health": self.health}


def watch(item: ProtectedItem | None, row: VmProgress) -> Watch:
    """Pure: how far one VM's reprotect got."""
    if item is None:
        return Watch(missing=True)
    reversed_ok = item.primary_location.lower() == row.to_region.lower()
    if reversed_ok and item.healthy_and_protected:
        return Watch(healthy=True, progress=100)
    replicating = item.protection_state == "InitialReplicationInProgress"
    pct = item.monitoring_percentage if replicating else row.progress
    return Watch(progress=pct, state=item.protection_state, health=item.replication_health)


class Verdict(Enum):
    """What the run does about VMs not healthy yet."""

    WAIT = "wait"
    WARN = "warn"  # wait, and tell operators once that reprotect is slow
    GIVE_UP = "give-up"  # fail the VMs left: reprotect took longer than allowed


def verdict(elapsed_s: float, timing: Timing, warned: bool) -> Verdict:
    """Pure: give up after ``reprotect_max_s``; warn once after ``reprotect_warn_s``."""
    if elapsed_s >= timing.reprotect_max_s:
        return Verdict.GIVE_UP
    if elapsed_s >= timing.reprotect_warn_s and not warned:
        return Verdict.WARN
    return Verdict.WAIT


def next_interval(left: list[tuple[str, VmProgress]], now: datetime, timing: Timing) -> float:
    """Pure: seconds to the next listing, dense inside the earliest window where a VM's replication can end
    (``health_delay``)."""
    samples = [(row.ir_first, row.ir_last) for _vm, row in left]
    return health_delay(
        now,
        samples,
        dense_s=HEALTH_DENSE_S,
        cap_s=min(timing.health_poll_max_s, STALL_CAP_S),
        unknown_s=timing.health_poll_s,
    )


def record(row: VmProgress, seen: Watch, ctx: StepContext, before: datetime | None) -> None:
    """Keep what one listing shows of a VM whose reprotect is done (also used by ``lib.workflows.pipeline``)."""
    if seen.missing:
        return
    if seen.healthy:
        row.mark_done(PHASE)
        row.healthy_at = ctx.now
        row.progress = 100
        return
    row.progress = seen.progress
    row.health = seen.health
    if seen.state == "InitialReplicationInProgress" and seen.progress is not None:
        row.saw_progress(seen.progress, ctx.now, before)


def _await_healthy(ctx: StepContext, deps: DrDeps, state: RunState) -> Outcome:
    renew_locks(ctx, deps, state)
    waiting = [(vm, row) for vm, row in state.pending(PHASE) if "reprotect" in row.done]
    if not waiting:
        return Next("no VM left to watch")
    items = by_vm_name(deps.asr.list_protected_items())
    before, state.health_read_at = state.health_read_at, ctx.now  # every watched VM is read by each listing
    progress: Json = {}
    for vm, row in waiting:
        seen = watch(items.get(vm.lower()), row)
        record(row, seen, ctx, before)
        progress[vm] = seen.to_json()
    left = [(vm, row) for vm, row in waiting if PHASE not in row.done]
    if not left:
        watched = sum(1 for row in state.vms.values() if "reprotect" in row.done)
        return Next(f"all {watched} VMs protected and healthy in the new direction", {"progress": progress})
    return _keep_watching(ctx, deps, state, watched=len(waiting), left=left, progress=progress)


def _keep_watching(
    ctx: StepContext, deps: DrDeps, state: RunState, *, watched: int, left: list[tuple[str, VmProgress]], progress: Json
) -> Outcome:
    elapsed = (ctx.now - ctx.step_started_at).total_seconds()
    timing = request(ctx).timing
    decided = verdict(elapsed, timing, state.reprotect_warned)
    if decided is Verdict.GIVE_UP:
        for vm, row in left:
            row.mark_failed(
                PHASE,
                "ReprotectTimeout",
                f"reprotect of {vm} did not reach Protected/Normal within {timing.reprotect_max_s / 3600:g} h"
                f" (last progress {row.progress}%)",
            )
        return Next(f"gave up waiting on {len(left)} VMs after {elapsed / 3600:.1f} h", {"progress": progress})
    details: Json = {"progress": progress}
    if decided is Verdict.WARN:
        state.reprotect_warned = True
        details["warning"] = f"reprotect still running after {elapsed / 3600:.1f} h on {len(left)} VMs"
        ctx.emit(REPROTECT_OVERDUE, {"elapsedSeconds": elapsed, "vms": {vm: row.progress for vm, row in left}})
    interval = state.health_poll_s = next_interval(left, ctx.now, timing)
    pcts = ", ".join(f"{vm} {row.progress if row.progress is not None else '?'}%" for vm, row in left[:5])
    more = f" and {len(left) - 5} more" if len(left) > 5 else ""
    return Wait(
        timedelta(seconds=interval),
        f"reprotect: {watched - len(left)}/{watched} healthy; {pcts}{more}",
        details,
    )


await_healthy = ride_out(_await_healthy)
await_healthy.__doc__ = "Poll VM-level reprotect state with ONE vault-wide listing per poll (an engine step)."
