"""Reprotect that waits for a region: park the run visibly, retry with backoff, wake it when the region is back.

ASR refuses reprotect (switch-protection) while the region that becomes the VMs' recovery side is down: the
primary target site must be available. Failing the run would strand the operator; retrying at the normal poll
rate would hammer ASR for hours. So the VM's refused attempt is kept as evidence, the run waits
(``waiting-for-region``, with a ``Parked`` record on the run) and retries with a growing interval, and
``wake_parked`` (or an operator's ``resume``) makes it retry at once.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from lib.domain.asr import Job, JobError
from lib.domain.dr import Timing
from lib.domain.runs import RunStatus
from lib.engine import Engine, LeaseHeld, OperationRefused, StepContext, Wait
from lib.workflows.deps import DrDeps
from lib.workflows.parked import WAITING_FOR_REGION, Parked
from lib.workflows.runstate import RunState
from lib.workflows.vmstate import VmProgress

__all__ = [
    "REGION_UNAVAILABLE_CODES",
    "WAITING_FOR_REGION",
    "clear_retry",
    "held",
    "park",
    "parked_wait",
    "refused",
    "region_refusal",
    "retry_delay",
    "unpark",
    "wake_parked",
]

# ASR's refusal of a reprotect whose target region is down. The real code is not recorded anywhere we could
# read: the emulator's name is listed; add the real one here when it is seen.
REGION_UNAVAILABLE_CODES = frozenset({"primarytargetsiteunavailable"})
PARKED_EVENT = "Autopilot.RunParked"
CONTINUED_EVENT = "Autopilot.RunContinued"


def region_refusal(job: Job) -> JobError | None:
    """Pure: the error that says the target region is unavailable, if that is why the job failed."""
    if job.succeeded or not job.finished:
        return None
    return next((e for e in job.errors if e.code.lower() in REGION_UNAVAILABLE_CODES), None)


def retry_delay(attempts: int, timing: Timing) -> float:
    """Pure: the wait before the next attempt, backing off like the reprotect polls (health poll timing)."""
    delay = timing.health_poll_s * timing.health_poll_backoff ** max(0, attempts - 1)
    return float(min(delay, timing.health_poll_max_s))


def park(ctx: StepContext, state: RunState, vm: str, row: VmProgress, error: JobError) -> None:
    """Record ``vm``'s refused reprotect: its failed job stays in the run's evidence, the VM waits."""
    row.jobs.pop("reprotect", None)  # the next attempt is a new job, started when the retry is due
    parked = state.parked
    if parked is None:
        parked = state.parked = Parked(region=row.from_region, since=ctx.now)
    if vm not in parked.vms:
        parked.vms.append(vm)
    parked.code, parked.message = error.code, error.message


def held(ctx: StepContext, state: RunState, vm: str) -> bool:
    """Pure: a parked VM does not retry before its time (other VMs of the run may keep the step busy)."""
    parked = state.parked
    return parked is not None and vm in parked.vms and parked.retry_at is not None and ctx.now < parked.retry_at


def refused(ctx: StepContext, deps: DrDeps, state: RunState, timing: Timing) -> None:
    """This call saw reprotect refused for the region: count the attempt, set the next one, tell operators once."""
    parked = state.parked
    assert parked is not None  # park() ran for the refused VMs
    parked.attempts += 1
    parked.retry_at = ctx.now + timedelta(seconds=retry_delay(parked.attempts, timing))
    if parked.attempts == 1:
        deps.notifier.publish(PARKED_EVENT, f"runs/{ctx.run_id}", _event(ctx, parked))


def parked_wait(ctx: StepContext, state: RunState) -> Wait:
    """The run's wait while every VM left waits for the region: until the next attempt is due."""
    parked = state.parked
    assert parked is not None  # called only with VMs parked
    due = parked.retry_at or ctx.now
    delay = max(0.0, (due - ctx.now).total_seconds())
    vms = ", ".join(parked.vms)
    return Wait(
        timedelta(seconds=delay),
        f"{WAITING_FOR_REGION}: {parked.region} is unavailable, reprotect of {vms} cannot succeed until it is"
        f" back; attempt {parked.attempts + 1} in {delay:.0f}s (or at once on resume or the region-recovered"
        " signal)",
        {"waiting": WAITING_FOR_REGION, "parked": parked.to_json()},
    )


def unpark(ctx: StepContext, deps: DrDeps, state: RunState, vm: str) -> None:
    """``vm``'s reprotect went through: it no longer waits; the run continues once no VM waits."""
    parked = state.parked
    if parked is None or vm not in parked.vms:
        return
    parked.vms.remove(vm)
    if not parked.vms:
        deps.notifier.publish(CONTINUED_EVENT, f"runs/{ctx.run_id}", _event(ctx, parked) | {"vms": [vm]})
        state.parked = None


def _event(ctx: StepContext, parked: Parked) -> dict[str, Any]:
    return {"runId": ctx.run_id, "state": WAITING_FOR_REGION, "region": parked.region, "vms": list(parked.vms),
            "since": parked.since.isoformat(), "attempts": parked.attempts, "code": parked.code}  # fmt: skip


def clear_retry(stored: dict[str, object]) -> None:
    """On resume: a parked run retries at once (``Workflow.on_resume`` works on the stored state)."""
    parked = stored.get("parked")
    if isinstance(parked, dict):
        parked["retry_at"] = None


def wake_parked(engine: Engine[Any], region: str, *, by: str = "region-recovered") -> list[str]:
    """Resume now every run parked waiting for ``region`` (call it when the region-recovered decision arrives).

    Returns the runs woken. A run whose step a worker executes right now (lease held) or that changed status
    meanwhile is skipped: it either already retries or no longer waits.
    """
    woken: list[str] = []
    continuation: str | None = None
    while True:
        page = engine.list_runs(RunStatus.WAITING, limit=200, continuation=continuation)
        for summary in page.items:
            parked = Parked.from_json(engine.get(summary.run_id).run.state.get("parked"))
            if parked is None or parked.region.lower() != region.lower():
                continue
            try:
                engine.resume(summary.run_id, by=by, reason=f"region {region} recovered: retry reprotect now")
            except (LeaseHeld, OperationRefused):
                continue
            woken.append(summary.run_id)
        continuation = page.continuation
        if not continuation:
            return woken
