"""The contract between the engine and the workflows that run on it.

A workflow is a named chain of idempotent steps. A step is a function of (context, deps) that observes
the world, may perform one side effect, and returns an outcome. The engine persists the outcome, the
step's changes to ``ctx.state`` and a history record atomically, then schedules what comes next.
Steps never sleep: they return ``Wait`` and are called again later.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

Details = Mapping[str, Any]

D = TypeVar("D")


@dataclass(frozen=True)
class Next:
    """Go on with the following step (or ``goto`` a named one)."""

    reason: str = ""
    details: Details = field(default_factory=dict)
    goto: str | None = None


@dataclass(frozen=True)
class Wait:
    """Call this same step again after ``delay`` (a durable timer: a delayed queue message)."""

    delay: timedelta
    reason: str
    details: Details = field(default_factory=dict)


@dataclass(frozen=True)
class Pause:
    """Stop until an operator approves (``approve`` continues with the following step).

    With ``timeout`` the engine calls this same step again when it expires so the step can decide
    (continue, fail, keep waiting); ``ctx.approval_timed_out`` is then true.
    """

    approval: str
    reason: str
    timeout: timedelta | None = None
    details: Details = field(default_factory=dict)


@dataclass(frozen=True)
class Decide:
    """Stop until an operator picks one of ``choices`` (``Engine.decide``); the run is ``awaiting-decision``.

    The engine then calls this same step again with ``ctx.decision`` set to the choice (and
    ``ctx.approved_by`` to who chose), so the step acts on it. ``decision`` names what is decided.
    Choice names are non-empty and contain no comma.
    """

    decision: str
    reason: str
    choices: tuple[str, ...]
    details: Details = field(default_factory=dict)


@dataclass(frozen=True)
class Done:
    """The run is over. ``partial`` ends it ``partially-succeeded`` instead of ``succeeded``."""

    reason: str = ""
    partial: bool = False
    details: Details = field(default_factory=dict)


@dataclass(frozen=True)
class Fail:
    """The run is over and failed. ``code`` is a machine-readable cause (e.g. an ASR error code)."""

    error: str
    code: str = ""
    details: Details = field(default_factory=dict)


@dataclass(frozen=True)
class Stopped:
    """The run is over, ``cancelled``: it carried out a cancel asked for while its work was under way
    (``StopRequested``), and everything it touched is back in a safe state."""

    reason: str
    details: Details = field(default_factory=dict)


Outcome = Next | Wait | Pause | Decide | Done | Fail | Stopped


@dataclass
class StepContext:
    run_id: str
    workflow: str
    step: str
    input: Mapping[str, Any]
    # Run-scoped JSON state; a step mutates it and the engine saves it together with the outcome.
    state: dict[str, Any]
    now: datetime
    run_started_at: datetime
    step_started_at: datetime  # first time the engine entered this step (waits keep it)
    attempt: int = 1  # 1 + how many times this step raised and was retried
    approval_timed_out: bool = False
    approved_by: str | None = None  # set on the step after an approved pause, and on a decided step
    decision: str | None = None  # the operator's choice, on the step that returned ``Decide``
    # Operator events the step raised; saved with its outcome, published after (dropped if the step raises).
    events: list[tuple[str, Mapping[str, Any]]] = field(default_factory=list)

    def emit(self, event_type: str, data: Mapping[str, Any]) -> None:
        """Raise an operator event (``lib.domain.events``); the run's id and link are added to ``data``."""
        self.events.append((event_type, dict(data)))


StepFn = Callable[[StepContext, D], Outcome]


@dataclass(frozen=True)
class CancelRefused:
    """A workflow's answer to ``cancel`` in a phase where stopping would strand something: why, and what
    the operator can do instead (operation names, e.g. ``("commit", "rollback")``)."""

    reason: str
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class StopRequested:
    """A workflow's answer to ``cancel`` while work it cannot drop on the floor is under way (an ASR job): the
    cancel is accepted as a request. ``state`` (the run's state with the request marked) is saved, the run
    stays active and is due now; its steps stop the work (or wait it out) and end the run ``Stopped``, or
    stop for a decision when stopping is no longer possible. ``reason`` says what will happen."""

    reason: str
    state: Mapping[str, Any]


@dataclass(frozen=True)
class Step(Generic[D]):
    name: str
    run: StepFn[D]


@dataclass(frozen=True)
class Workflow(Generic[D]):
    name: str
    steps: tuple[Step[D], ...]
    # Called by ``resume`` on a failed or partially-succeeded run: may reset parts of ``state`` (e.g. mark
    # failed VMs for retry) and returns the step to restart from. Default: the step that failed.
    on_resume: Callable[[dict[str, Any], str], str] | None = None
    # Called by ``cancel`` on an active run with its state and step: None lets the cancel through (the run
    # ends ``cancelled``); a ``CancelRefused`` refuses it with the reason and the choices left (after an
    # irreversible ASR action, for instance); a ``StopRequested`` accepts it as a request the run carries
    # out itself (an ASR job to cancel or wait out first). Default: every active run may be cancelled.
    on_cancel: Callable[[Mapping[str, Any], str], CancelRefused | StopRequested | None] | None = None

    def step(self, name: str) -> Step[D]:
        for candidate in self.steps:
            if candidate.name == name:
                return candidate
        raise KeyError(f"workflow {self.name!r} has no step {name!r}")

    def after(self, name: str) -> str | None:
        names = [s.name for s in self.steps]
        index = names.index(name)
        return names[index + 1] if index + 1 < len(names) else None
