"""The real engine and driver on the in-memory backend, for unit tests of the workflows.

``run`` starts a run with ``Engine.start`` and lets a one-worker ``Driver`` execute it until it finishes or
pauses for approval: checkpoints, attempts, retries with rollback of the state, timers and ``resume`` are
the engine's own. Time is a ``ManualClock`` starting at ``T0``: when no message is visible the driver's
sleep moves the clock to the next one, so an hour of polling takes no real time.

One backend (store, queue, clock) belongs to one ``DrDeps``, i.e. one simulated world: a second ``run``
with the same deps continues in it. Passing ``state`` that an earlier result returned resumes that run with
the engine's ``resume`` (which calls ``Workflow.on_resume`` itself); any other ``state`` is stored as a run
that a previous worker left at ``start_at`` (what a crash between a side effect and its checkpoint leaves).
"""

from __future__ import annotations

import json
import time
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from lib.adapters.clocks import ManualClock
from lib.adapters.memory_run_store import MemoryRunStore
from lib.adapters.memory_work_queue import MemoryWorkQueue
from lib.domain.events import OperatorEvent
from lib.domain.runs import HistoryRecord, RunEvent, RunRecord, RunStatus, RunSummary
from lib.engine import (
    DeadlineExceeded,
    Decide,
    Done,
    Driver,
    Engine,
    Fail,
    Outcome,
    Pause,
    RunOutbox,
    Step,
    StepContext,
    Workflow,
)
from lib.ports.probe import ProbeResult
from lib.ports.work_queue import WorkItem
from lib.workflows.deps import DrDeps
from tests.unit.workflows.fake_asr import T0, FakeSiteRecovery

DEADLINE_S = 30.0  # real seconds: only a runaway workflow gets near it


class MemoryLocks:
    def __init__(self) -> None:
        self.holders: dict[str, str] = {}

    def acquire(self, names: Sequence[str], run_id: str, ttl: timedelta) -> dict[str, str]:
        taken = {n: h for n in names if (h := self.holders.get(n)) and h != run_id}
        if not taken:
            self.holders.update(dict.fromkeys(names, run_id))
        return taken

    def release(self, names: Sequence[str], run_id: str) -> None:
        for n in names:
            if self.holders.get(n) == run_id:
                del self.holders[n]


class RecordingNotifier:
    """The Notifier (events outside runs) and the run outbox's sink (events out of checkpoints) in one."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, dict[str, Any]]] = []

    def publish(self, event_type: str, subject: str, data: Mapping[str, Any]) -> None:
        self.events.append((event_type, subject, dict(data)))

    def deliver(self, events: Sequence[OperatorEvent]) -> bool:
        self.events.extend((e.type, e.subject, dict(e.data)) for e in events)
        return True


@dataclass
class ScriptedProbe:
    answers: list[bool] = field(default_factory=lambda: [True])
    calls: int = 0

    def check(self, url: str) -> ProbeResult:
        ok = self.answers[min(self.calls, len(self.answers) - 1)]
        self.calls += 1
        return ProbeResult(ok, "200 OK" if ok else "connection refused")


def make_deps(asr: FakeSiteRecovery, probe: ScriptedProbe | None = None) -> DrDeps:
    return DrDeps(asr=asr, locks=MemoryLocks(), notifier=RecordingNotifier(), probe=probe or ScriptedProbe())


@dataclass
class Backend:
    """The engine's storage for one simulated world."""

    clock: ManualClock = field(default_factory=lambda: ManualClock(T0))
    store: MemoryRunStore = field(default_factory=MemoryRunStore)
    queue: MemoryWorkQueue = field(init=False)
    # States handed to tests, with their run: handing one back means "resume that run".
    handed_out: list[tuple[dict[str, Any], str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.queue = MemoryWorkQueue("work", self.clock)

    def sleep(self, seconds: float) -> None:
        due = self.queue.next_visible_at()
        if due is None:
            time.sleep(min(seconds, 0.01))  # nothing scheduled: only a bug gets here; the deadline ends it
        else:
            self.clock.set(due)

    def run_of(self, state: dict[str, Any]) -> str | None:
        return next((run_id for given, run_id in self.handed_out if given is state), None)


_BACKENDS: dict[int, Backend] = {}


def backend_of(deps: DrDeps) -> Backend:
    """The backend of ``deps`` (made on first use; dropped with the deps)."""
    key = id(deps)
    if key not in _BACKENDS:
        _BACKENDS[key] = Backend()
        weakref.finalize(deps, _BACKENDS.pop, key, None)
    return _BACKENDS[key]


@dataclass
class RunResult:
    outcome: Outcome  # the last step's outcome (a Fail made from the run when the engine failed it)
    state: dict[str, Any]
    history: list[tuple[str, Outcome]]  # every step call of this ``run``, in order
    step: str
    run: RunRecord


class _TooManySteps(BaseException):
    """A BaseException, so that the engine does not take it for a step failure to retry."""


def _recording(workflow: Workflow[DrDeps], calls: list[tuple[str, Outcome]], limit: int) -> Workflow[DrDeps]:
    """The same workflow, noting every step call and its outcome (the engine runs it unchanged)."""

    def wrap(step: Step[DrDeps]) -> Step[DrDeps]:
        def run(ctx: StepContext, deps: DrDeps) -> Outcome:
            if len(calls) >= limit:
                raise _TooManySteps(f"workflow did not finish in {limit} steps; last {calls[-3:]}")
            outcome = step.run(ctx, deps)
            calls.append((step.name, outcome))
            return outcome

        return Step(step.name, run)

    return replace(workflow, steps=tuple(wrap(s) for s in workflow.steps))


def run(
    workflow: Workflow[DrDeps],
    deps: DrDeps,
    request: Mapping[str, Any],
    *,
    state: dict[str, Any] | None = None,
    start_at: str | None = None,
    approve: bool = False,
    decide: str = "",
    max_steps: int = 500,
    run_id: str = "run-1",
) -> RunResult:
    """Run ``workflow`` on the real engine until it finishes, or pauses (``approve``: approve as "tester").

    ``run_id`` names a run stored at ``start_at``; a started run gets an id from the engine. ``decide``
    answers a run awaiting a decision with that choice (as "tester").
    """
    backend = backend_of(deps)
    calls: list[tuple[str, Outcome]] = []
    engine = _engine(workflow, deps, backend, calls, max_steps)
    current = _begin(engine, backend, workflow, request, state=state, start_at=start_at, run_id=run_id)
    return _drive(engine, backend, current, calls, approve=approve, decide=decide)


def resume(
    workflow: Workflow[DrDeps], deps: DrDeps, previous: RunResult, *, approve: bool = False, max_steps: int = 500
) -> RunResult:
    """Resume a failed or partially-succeeded run with the engine's ``resume`` and run it to its end."""
    backend = backend_of(deps)
    calls: list[tuple[str, Outcome]] = []
    engine = _engine(workflow, deps, backend, calls, max_steps)
    engine.resume(previous.run.run_id, by="tester")
    return _drive(engine, backend, previous.run.run_id, calls, approve=approve)


def _engine(
    workflow: Workflow[DrDeps], deps: DrDeps, backend: Backend, calls: list[tuple[str, Outcome]], max_steps: int
) -> Engine[DrDeps]:
    return Engine(
        registry={workflow.name: _recording(workflow, calls, max_steps)},
        deps=deps,
        store=backend.store,
        queue=backend.queue,
        clock=backend.clock,
        outbox=RunOutbox(deps.notifier) if isinstance(deps.notifier, RecordingNotifier) else None,
    )


def _drive(
    engine: Engine[DrDeps],
    backend: Backend,
    run_id: str,
    calls: list[tuple[str, Outcome]],
    *,
    approve: bool,
    decide: str = "",
) -> RunResult:
    driver = Driver(engine, sleep=backend.sleep)
    try:
        current = driver.run_until_finished(run_id, deadline_s=DEADLINE_S)
        while (approve and current.status is RunStatus.AWAITING_APPROVAL) or (
            (decide or approve) and current.status is RunStatus.AWAITING_DECISION
        ):
            if current.status is RunStatus.AWAITING_DECISION:
                engine.decide(run_id, decide or "commit", by="tester")
            else:
                engine.approve(run_id, by="tester")
            current = driver.run_until_finished(run_id, deadline_s=DEADLINE_S)
    except _TooManySteps as exc:
        raise AssertionError(str(exc)) from None
    except DeadlineExceeded as exc:
        raise AssertionError(f"{exc}; last steps {calls[-3:]}") from None
    result = RunResult(_outcome(current, calls), dict(current.state), calls, current.step, current)
    backend.handed_out.append((result.state, run_id))
    return result


def _begin(
    engine: Engine[DrDeps],
    backend: Backend,
    workflow: Workflow[DrDeps],
    request: Mapping[str, Any],
    *,
    state: dict[str, Any] | None,
    start_at: str | None,
    run_id: str,
) -> str:
    """Start, resume or store the run; returns its id."""
    if state is None and start_at is None:
        return engine.start(workflow.name, request, actor="tester").run_id
    previous = backend.run_of(state) if state is not None else None
    if previous is None:
        step = start_at or workflow.steps[0].name
        return _store_run(backend, workflow, request, state=state or {}, step=step, run_id=run_id)
    resumed = engine.resume(previous, by="tester")
    if start_at is not None and resumed.step != start_at:
        raise AssertionError(f"the engine resumes at {resumed.step!r}; the test expected {start_at!r}")
    if dict(resumed.state) != state:
        raise AssertionError("the engine's resume made another state than the test prepared with on_resume")
    return previous


def _store_run(
    backend: Backend,
    workflow: Workflow[DrDeps],
    request: Mapping[str, Any],
    *,
    state: dict[str, Any],
    step: str,
    run_id: str,
) -> str:
    """A pending run at ``step`` with ``state``, as a previous worker would have stored it, plus its message."""
    now = backend.clock.now()
    record = RunRecord(
        run_id=run_id, workflow=workflow.name, status=RunStatus.PENDING, step=step, version=1,
        input=json.loads(json.dumps(dict(request))), state=json.loads(json.dumps(state)), created_at=now,
        updated_at=now, step_started_at=now, due_at=now, history_seq=1, reason="stored by the test",
    )  # fmt: skip
    created = HistoryRecord(
        seq=1, at=now, event=RunEvent.CREATE, from_status=None, to_status=RunStatus.PENDING, step=step, version=1,
        outcome="operation", reason="stored by the test", actor="tester",
    )  # fmt: skip
    backend.store.index_put(RunSummary.of(record))
    backend.store.create(record, [created])
    backend.queue.send(WorkItem(run_id, record.version).encode())
    return run_id


def _outcome(run: RunRecord, calls: list[tuple[str, Outcome]]) -> Outcome:
    last = calls[-1][1] if calls else None
    if run.status is RunStatus.FAILED and not isinstance(last, Fail):
        return Fail(run.error, run.error_code)  # the engine failed the run (retries exhausted, abort)
    expected: type = {
        RunStatus.SUCCEEDED: Done,
        RunStatus.PARTIALLY_SUCCEEDED: Done,
        RunStatus.FAILED: Fail,
        RunStatus.AWAITING_APPROVAL: Pause,
        RunStatus.AWAITING_DECISION: Decide,
    }[run.status]
    if last is None or not isinstance(last, expected):
        raise AssertionError(f"the run is {run.status.value} but its last step returned {last!r}")
    return last
