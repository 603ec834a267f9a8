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


def ride_out(step: StateStep) -> EngineStep:
    """Throttling and 5xx that outlived the SDK's own retries become a wait, never a lost run."""

    def guarded(ctx: StepContext, deps: DrDeps, state: RunState) -> Outcome:
        try:
            outcome = step(ctx, deps, state)
        except (Throttled, Transient) as exc:
            return storm_wait(ctx, state, exc)
        state.transient_streak = 0  # ASR answered: the next storm starts counting afresh
        return outcome

    guarded.__name__ = getattr(step, "__name__", "step")
    return with_state(guarded)
