"""Typed errors the engine raises; each carries the fields an operator or a caller branches on."""

from __future__ import annotations

from lib.domain.errors import AutopilotError


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


class DeadlineExceeded(EngineError):
    """A synchronous driver gave up waiting (tests, CLI, demo)."""

    def __init__(self, run_id: str, status: str, deadline_s: float) -> None:
        super().__init__(f"run {run_id} is still {status!r} after {deadline_s:g}s")
        self.run_id = run_id
        self.status = status
        self.deadline_s = deadline_s


class InjectedCrash(BaseException):
    """Raised by a test's crash hook to simulate the worker process dying at ``point``.

    A BaseException so that nothing in the engine catches it as a step failure: the worker just stops.
    """

    def __init__(self, point: str, run_id: str) -> None:
        super().__init__(f"injected crash at {point} (run {run_id})")
        self.point = point
        self.run_id = run_id
