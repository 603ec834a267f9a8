"""``Engine``: the public face of the durable-style engine (operations, queries, hosting entry points)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from lib.domain.errors import ValidationError
from lib.domain.runs import ACTIVE, HistoryRecord, RunRecord, RunStatus, RunSummary, listed_status
from lib.engine import janitor
from lib.engine import operations as ops
from lib.engine.api import Workflow
from lib.engine.checkpoint import Checkpoint
from lib.engine.config import EngineConfig, TimerScale
from lib.engine.errors import RunNotFound
from lib.engine.executor import Executor, ProcessReport
from lib.engine.outbox import RunOutbox
from lib.engine.runtime import CrashHook, Observer, RunCache, Runtime, StepTracer
from lib.ports.clock import Clock
from lib.ports.run_store import RunPage, RunStore
from lib.ports.work_queue import Received, WorkQueue

D = TypeVar("D")

StartResult = ops.StartResult
SweepReport = janitor.SweepReport
PoisonReport = janitor.PoisonReport


@dataclass(frozen=True)
class LeaseView:
    """Who holds (or held) the run's lease: a worker executing its step, or one that stalled or died.

    ``acquired_at`` is ``expires_at`` minus the lease length (every grant or renewal is "now + lease").
    ``expired`` means the holder is gone or overran: ``continue`` takes the run over.
    """

    holder: str
    acquired_at: datetime
    expires_at: datetime
    expired: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "holder": self.holder,
            "acquired_at": self.acquired_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
            "expired": self.expired,
        }


def lease_view(run: RunRecord, lease: timedelta, now: datetime) -> LeaseView | None:
    if not run.lease_owner or run.lease_until is None:
        return None
    return LeaseView(run.lease_owner, run.lease_until - lease, run.lease_until, run.lease_until <= now)


@dataclass(frozen=True)
class RunView:
    """A run, its history, its lease (None when nobody holds one) and the operations it accepts now."""

    run: RunRecord
    history: list[HistoryRecord]
    lease: LeaseView | None = None
    allowed_operations: tuple[str, ...] = ()


class Engine(Generic[D]):
    """Runs registered workflows as chains of checkpointed steps on a RunStore and a WorkQueue.

    ``deps`` is handed to every step. ``clock`` is the only source of "now" (``bootstrap`` wires the system
    clock; unit tests a manual one). ``timer_scale`` multiplies every workflow delay and due time (waits,
    pause timeouts, retry backoff, the janitor's grace) and the lease, which never drops below
    ``EngineConfig.min_lease``.

    Refused operations raise ``OperationRefused`` (status and allowed operations) or ``LeaseHeld`` (holder
    and expiry); an unknown run ``RunNotFound``.
    """

    def __init__(
        self,
        *,
        registry: Mapping[str, Workflow[D]],
        deps: D,
        store: RunStore,
        queue: WorkQueue,
        clock: Clock,
        poison_queue: WorkQueue | None = None,
        timer_scale: float = 1.0,
        config: EngineConfig | None = None,
        observer: Observer | None = None,
        crash_hook: CrashHook | None = None,
        outbox: RunOutbox | None = None,
        tracer: StepTracer | None = None,
    ) -> None:
        config = config or EngineConfig()
        self._rt: Runtime[D] = Runtime(
            registry=dict(registry),
            deps=deps,
            store=store,
            queue=queue,
            poison=poison_queue,
            clock=clock,
            timing=TimerScale(timer_scale, config.max_visibility),
            config=config,
            crash_hook=crash_hook,
            observers=[observer] if observer else [],
            cache=RunCache(config.cache_size),
            outbox=outbox,
            tracer=tracer,
        )

    # -- plumbing ---------------------------------------------------------------------------------

    @property
    def runtime(self) -> Runtime[D]:
        return self._rt

    @property
    def config(self) -> EngineConfig:
        return self._rt.config

    @property
    def queue(self) -> WorkQueue:
        return self._rt.queue

    @property
    def poison_queue(self) -> WorkQueue | None:
        return self._rt.poison

    @property
    def clock(self) -> Clock:
        return self._rt.clock

    def add_observer(self, observer: Observer) -> None:
        self._rt.observers.append(observer)

    def remove_observer(self, observer: Observer) -> None:
        if observer in self._rt.observers:
            self._rt.observers.remove(observer)

    def set_crash_hook(self, hook: CrashHook | None) -> None:
        self._rt.crash_hook = hook

    def executor(self, worker_id: str | None = None) -> Executor[D]:
        """A worker with its own lease identity (one per thread)."""
        return Executor(self._rt, worker_id)

    # -- operations -------------------------------------------------------------------------------

    def start(
        self, workflow: str, input: Mapping[str, Any], idempotency_key: str | None = None, *, actor: str = ""
    ) -> StartResult:
        """Create a run and enqueue its first step. The same ``idempotency_key`` always returns the same run
        (``created`` is False for every caller but the one that created it)."""
        return ops.start(self._rt, workflow, input, idempotency_key, actor)

    def cancel(self, run_id: str, *, by: str, reason: str = "") -> RunRecord:
        """End an active run ``cancelled``. ``OperationRefused`` when the run is over, or when its workflow's
        ``on_cancel`` refuses in the phase reached (``reason`` and ``allowed`` then say why and what else). When
        ``on_cancel`` answers ``StopRequested`` the run stays active and due now: its steps stop their work and
        end it (``Stopped``)."""

        def change(run: RunRecord, now: datetime) -> Checkpoint:
            return ops.cancel(self._rt.registry.get(run.workflow), run, now, by, reason)

        return ops.update(self._rt, run_id, "cancel", change, enqueue=True)

    def approve(self, run_id: str, *, by: str, approval: str | None = None, comment: str = "") -> RunRecord:
        """Continue a paused run with the step after the pause; ``by`` is recorded and shown to that step."""

        def change(run: RunRecord, now: datetime) -> Checkpoint:
            return ops.approve(
                ops.workflow_of(self._rt, run.workflow), run, now, by, approval=approval, comment=comment
            )

        return ops.update(self._rt, run_id, "approve", change)

    def resume(self, run_id: str, *, by: str, reason: str = "") -> RunRecord:
        """Restart a failed, partially-succeeded or paused run at ``Workflow.on_resume``'s step (default:
        the step it stopped at)."""

        def change(run: RunRecord, now: datetime) -> Checkpoint:
            return ops.resume(ops.workflow_of(self._rt, run.workflow), run, now, by, reason)

        return ops.update(self._rt, run_id, "resume", change)

    def decide(self, run_id: str, choice: str, *, by: str, comment: str = "") -> RunRecord:
        """Answer a run awaiting a decision (``Decide``) with one of ``run.choices``; who chose and the
        choice are recorded, and the deciding step runs again with ``ctx.decision``. A choice not offered is
        a ``ValidationError``; a run not awaiting a decision ``OperationRefused``."""
        return ops.update(self._rt, run_id, "decide", lambda run, now: ops.decide(run, now, by, choice, comment))

    def continue_run(self, run_id: str, *, by: str, reason: str = "") -> RunRecord:
        """Make a pending, running or waiting run due now and enqueue a work item for it, so any driver (the
        queue trigger, ``Driver.drive``) executes its step. A live lease is refused with ``LeaseHeld``; an
        expired one is taken over. Other statuses: ``OperationRefused``."""
        return ops.update(
            self._rt, run_id, "continue", lambda run, now: ops.continue_run(run, now, by, reason), enqueue=True
        )

    def release_lease(self, run_id: str, *, worker: str) -> RunRecord:
        """Hand the run's current step back: ``worker`` (who must hold the lease, else ``LeaseNotHeld``) stops
        without a checkpoint, and the step may be executed again at once."""
        return ops.release_lease(self._rt, run_id, worker)

    # -- queries ----------------------------------------------------------------------------------

    def get(self, run_id: str) -> RunView:
        found = self._rt.store.load_with_history(run_id)
        if found is None:
            raise RunNotFound(run_id)
        loaded, history = found
        run = loaded.run
        lease = lease_view(run, self._rt.leases.lease, self._now())
        return RunView(run, history, lease, ops.allowed_operations(run.status))

    @property
    def lease_duration(self) -> timedelta:
        """How long a lease lasts on this engine (scaled by ``timer_scale``, floored by ``min_lease``)."""
        return self._rt.leases.lease

    def list_runs(
        self, status: RunStatus | str | None = None, limit: int = 50, continuation: str | None = None
    ) -> RunPage:
        """Newest first; pass the returned ``continuation`` to get the next page. An unknown ``status`` is a
        ``ValidationError`` naming the allowed values.

        The index is written when a run's listed status changes, not at every step; active runs (few) are
        read back so that their status, current step and reason are the run's own, not the index's."""
        wanted = _status_filter(status)
        limit = max(1, min(limit, 1000))
        page = self._rt.store.index_list(listed_status(wanted) if wanted else None, limit, continuation)
        items = []
        for row in page.items:
            summary = self._current(row) if row.status in ACTIVE else row
            if wanted is None or summary.status is wanted:
                items.append(summary)
        return RunPage(items, page.continuation)

    def _current(self, row: RunSummary) -> RunSummary:
        loaded = self._rt.store.load(row.run_id)
        if loaded is None:
            return row
        return replace(RunSummary.of(loaded.run), status=loaded.run.status)

    # -- hosting ----------------------------------------------------------------------------------

    def handle_message(self, body: str, message_id: str, dequeue_count: int = 1) -> ProcessReport:
        """The Functions queue trigger: execute the due step, and the ``Next`` steps after it under the lease each
        checkpoint carries (up to ``EngineConfig.max_chain``); the host deletes the message when we return."""
        received = Received(message_id, "", body, dequeue_count, datetime.max.replace(tzinfo=self._now().tzinfo))
        return self.executor().process(received, held=False)

    def fail_poisoned(self, body: str, reason: str = "", message_id: str = "") -> PoisonReport:
        return janitor.fail_poisoned(self._rt, body, reason or "the host gave up on it", message_id)

    def sweep(self) -> SweepReport:
        """The janitor: re-enqueue overdue runs, repair the index."""
        return janitor.sweep(self._rt)

    def _now(self) -> datetime:
        return self._rt.clock.now()


def _status_filter(status: RunStatus | str | None) -> RunStatus | None:
    if status is None or isinstance(status, RunStatus):
        return status
    try:
        return RunStatus(status)
    except ValueError:
        allowed = ", ".join(s.value for s in RunStatus)
        raise ValidationError("status", f"{status!r} is not a run status; use one of: {allowed}") from None
