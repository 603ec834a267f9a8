"""Plumbing shared by every DR step: the request, typed state in and out, and riding out ASR storms."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from lib.domain.dr import DrRequest, request_from_json
from lib.domain.errors import SiteRecoveryError, Throttled
from lib.domain.errors import TransientSiteRecoveryError as Transient
from lib.engine import Details, Outcome, StepContext, Wait
from lib.workflows.deps import DrDeps
from lib.workflows.runstate import RunState

StateStep = Callable[[StepContext, DrDeps, RunState], Outcome]
EngineStep = Callable[[StepContext, DrDeps], Outcome]


def request(ctx: StepContext) -> DrRequest:
    return request_from_json(ctx.input)


def poll_wait(req: DrRequest, reason: str, details: Details | None = None, delay_s: float | None = None) -> Wait:
    """Wait ``delay_s`` (an adaptive figure from ``lib.workflows.pacing``), else the request's job-poll cap."""
    delay = req.timing.job_poll_s if delay_s is None else delay_s
    return Wait(timedelta(seconds=delay), reason, details or {})


def with_state(step: StateStep) -> EngineStep:
    """Load the typed state from ``ctx.state``, run the step on it, and write it back, also when the step
    raises: what a step recorded before a storm (a job it started) must survive the engine's wait."""

    def run(ctx: StepContext, deps: DrDeps) -> Outcome:
        state = RunState.load(ctx.state)
        try:
            return step(ctx, deps, state)
        finally:
            state.save(ctx.state)

    run.__name__ = getattr(step, "__name__", "step")
    return run


def storm_wait(ctx: StepContext, state: RunState, exc: SiteRecoveryError) -> Wait:
    """Wait longer the longer the storm lasts, at least as long as ASR's Retry-After asks."""
    state.transient_streak += 1
    streak = state.transient_streak
    hint = exc.retry_after if isinstance(exc, Throttled) and exc.retry_after else 0.0
    delay = max(hint, request(ctx).timing.job_poll_s * min(streak, 10))
    return Wait(
        timedelta(seconds=delay),
        f"ASR answered {exc.code} ({exc.status}); trying again in {delay:.0f}s",
        {"error": {"code": exc.code, "message": exc.message}, "streak": streak},
    )


# What one poll reads when the adapter cannot say (a fake): one jobs listing and one vault-wide item listing.
ESTIMATED_READS = 2


def within_budget(ctx: StepContext, deps: DrDeps, state: RunState, outcome: Outcome, reads: int) -> Outcome:
    """Keep the run inside the subscription's ARM read budget.

    A poll that follows a wait was booked by that wait. The first call of a step was not: its reads are
    booked now, after the fact, so that the ledger knows them (they can only push later polls back). A wait
    books the next poll (as many reads as this call made); when the budget pushes it later, the run waits
    longer and records it.
    """
    if deps.budget is None:
        return outcome
    earliest = ctx.now
    if ctx.now <= ctx.step_started_at:
        earliest = deps.budget.book(max(reads, 1), ctx.now, ctx.now)
    if not isinstance(outcome, Wait):
        return outcome
    wanted = ctx.now + outcome.delay
    at = deps.budget.book(max(reads, 1), max(wanted, earliest), ctx.now)
    pushed = (at - wanted).total_seconds()
    if pushed < 1.0:
        return outcome
    state.budget_waits += 1
    state.budget_wait_s += pushed
    details = {**outcome.details, "armReadBudget": {"reads": reads, "pushedSeconds": round(pushed, 1)}}
    reason = f"{outcome.reason}; ARM read budget: next poll {pushed:.0f}s later"
    return Wait(at - ctx.now, reason, details)


def _budgeted(step: StateStep) -> StateStep:
    def run(ctx: StepContext, deps: DrDeps, state: RunState) -> Outcome:
        before = deps.read_meter() if deps.read_meter is not None else None
        outcome = step(ctx, deps, state)
        reads = deps.read_meter() - before if deps.read_meter is not None and before is not None else ESTIMATED_READS
        return within_budget(ctx, deps, state, outcome, reads)

    return run


def ride_out(step: StateStep) -> EngineStep:
    """Throttling and 5xx that outlived the SDK's own retries become a wait, never a lost run; a poll's wait
    keeps the run inside the subscription's ARM read budget (``within_budget``)."""
    budgeted = _budgeted(step)

    def guarded(ctx: StepContext, deps: DrDeps, state: RunState) -> Outcome:
        try:
            outcome = budgeted(ctx, deps, state)
        except (Throttled, Transient) as exc:
            return storm_wait(ctx, state, exc)
        state.transient_streak = 0  # ASR answered: the next storm starts counting afresh
        return outcome

    guarded.__name__ = getattr(step, "__name__", "step")
    return with_state(guarded)
