"""Typed errors the engine raises; each carries the fields an operator or a caller branches on."""

from __future__ import annotations

from datetime import datetime

from lib.domain.errors import AutopilotError
from lib.domain.runs import IllegalTransition, RunEvent, RunStatus


class EngineError(AutopilotError):
    """Base of the engine's own errors."""


class RunNotFound(EngineError):
    def __init__(self, run_id: str) -> None:
        super().__init__(f"run {run_id} does not exist")
        self.run_id = run_id


class UnknownWorkflow(EngineError):
    def __init__(self, workflow: str, known: tuple[str, ...] = ()) -> None:
        super().__init__(f"no workflow named {workflow!r}" + (f" (known: {', '.join(known)})" if known else ""))
        self.workflow = workflow
        self.known = known


class UnknownStep(EngineError):
    def __init__(self, workflow: str, step: str) -> None:
        super().__init__(f"workflow {workflow!r} has no step {step!r}")
        self.workflow = workflow
        self.step = step


class IdempotencyConflict(EngineError):
    """The idempotency key already started a run of another workflow."""

    def __init__(self, key: str, run_id: str, workflow: str, requested: str) -> None:
        super().__init__(f"idempotency key {key!r} belongs to run {run_id} of {workflow!r}, not {requested!r}")
        self.key = key
        self.run_id = run_id
        self.workflow = workflow
        self.requested = requested


class ContentionExceeded(EngineError):
    """An operation lost the ETag race too many times in a row (something else keeps writing the run)."""

    def __init__(self, run_id: str, operation: str, attempts: int) -> None:
        super().__init__(f"run {run_id}: {operation} lost {attempts} write races in a row; try again")
        self.run_id = run_id
        self.operation = operation
        self.attempts = attempts


class OperationRefused(IllegalTransition, EngineError):
    """An operation is not allowed while the run has its current status, or its workflow refuses it in the
    phase it has reached (HTTP: 409 with these fields).

    ``allowed`` lists what the caller may do instead, so a refusal can name the choices; ``reason`` says why
    when the workflow refused (e.g. "the VMs are failed over: cancel cannot bring them back").
    """

    def __init__(
        self,
        run_id: str,
        operation: str,
        status: RunStatus,
        allowed: tuple[str, ...],
        event: RunEvent,
        *,
        reason: str = "",
    ) -> None:
        IllegalTransition.__init__(self, status, event, run_id)
        choices = ", ".join(allowed) if allowed else "none, the run is over"
        why = f": {reason}" if reason else ""
        self.args = (f"run {run_id} is {status.value}: {operation} is not allowed{why} (allowed now: {choices})",)
        self.operation = operation
        self.status = status
        self.allowed = allowed
        self.reason = reason


class LeaseHeld(EngineError):
    """A live worker holds the run's lease: it is executing the run's step right now (HTTP: 409).

    Try again after ``expires_at`` (the lease is renewed while its holder keeps working); a holder that died
    is taken over once its lease has expired.
    """

    def __init__(self, run_id: str, operation: str, holder: str, expires_at: datetime, status: RunStatus) -> None:
        super().__init__(
            f"run {run_id}: {operation} refused: worker {holder} holds the run's lease until "
            f"{expires_at.isoformat()} (it is executing step work now)"
        )
        self.run_id = run_id
        self.operation = operation
        self.holder = holder
        self.expires_at = expires_at
        self.status = status


class LeaseNotHeld(EngineError):
    """``release_lease`` by a worker that does not hold the lease (any more): nothing was changed."""

    def __init__(self, run_id: str, worker: str, holder: str) -> None:
        held = f"it is held by {holder}" if holder else "nobody holds it"
        super().__init__(f"run {run_id}: worker {worker} does not hold the lease ({held})")
        self.run_id = run_id
        self.worker = worker
        self.holder = holder


class DeadlineExceeded(EngineError):
    """A synchronous driver gave up waiting (tests, CLI, demo)."""

    def __init__(self, run_id: str, status: str, deadline_s: float) -> None:
        super().__init__(f"run {run_id} is still {status!r} after {deadline_s:g}s")
        self.run_id = run_id
        self.status = status
        self.deadline_s = deadline_s
        self.others_due: tuple[str, ...] = ()  # ``Driver.drive``: other runs that are due (left alone)


class InjectedCrash(BaseException):
    """Raised by a test's crash hook to simulate the worker process dying at ``point``.

    A BaseException so that nothing in the engine catches it as a step failure: the worker just stops.
    """

    def __init__(self, point: str, run_id: str) -> None:
        super().__init__(f"injected crash at {point} (run {run_id})")
        self.point = point
        self.run_id = run_id
