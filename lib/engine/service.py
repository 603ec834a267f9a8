"""``Engine``: the public face of the durable-style engine (operations, queries, hosting entry points)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Generic, TypeVar

from lib.domain.runs import HistoryRecord, RunRecord, RunStatus, listed_status
from lib.engine import janitor
from lib.engine import operations as ops
from lib.engine.api import Workflow
from lib.engine.checkpoint import Checkpoint
from lib.engine.config import EngineConfig, TimerScale
from lib.engine.errors import RunNotFound
from lib.engine.executor import Executor, ProcessReport
from lib.engine.runtime import CrashHook, Observer, RunCache, Runtime
from lib.ports.clock import Clock
from lib.ports.run_store import RunPage, RunStore
from lib.ports.work_queue import Received, WorkQueue

D = TypeVar("D")

StartResult = ops.StartResult
SweepReport = janitor.SweepReport
PoisonReport = janitor.PoisonReport


@dataclass(frozen=True)
class RunView:
    run: RunRecord
    history: list[HistoryRecord]


class Engine(Generic[D]):
    """Runs registered workflows as chains of checkpointed steps on a RunStore and a WorkQueue.

    ``deps`` is handed to every step. ``clock`` is the only source of "now" (``bootstrap`` wires the system
    clock; unit tests a manual one). ``timer_scale`` multiplies every workflow delay and due time (waits,
    pause timeouts, retry backoff, the janitor's grace); leases stay in real time.
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
        return ops.update(self._rt, run_id, "cancel", lambda run, now: ops.cancel(run, now, by, reason))

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

    # -- queries ----------------------------------------------------------------------------------

    def get(self, run_id: str) -> RunView:
        found = self._rt.store.load_with_history(run_id)
        if found is None:
            raise RunNotFound(run_id)
        loaded, history = found
        return RunView(loaded.run, history)

    def list_runs(
        self, status: RunStatus | str | None = None, limit: int = 50, continuation: str | None = None
    ) -> RunPage:
        """Newest first; pass the returned ``continuation`` to get the next page."""
        wanted = RunStatus(status) if status is not None else None
        limit = max(1, min(limit, 1000))
        page = self._rt.store.index_list(listed_status(wanted) if wanted else None, limit, continuation)
        # The index lists waiting runs as running; read the exact status of those (active runs are few).
        items = []
        for row in page.items:
            summary = row
            if row.status is RunStatus.RUNNING:
                summary = replace(row, status=self._rt.store.load_status(row.run_id) or row.status)
            if wanted is None or summary.status is wanted:
                items.append(summary)
        return RunPage(items, page.continuation)

    # -- hosting ----------------------------------------------------------------------------------

    def handle_message(self, body: str, message_id: str, dequeue_count: int = 1) -> ProcessReport:
        """The Functions queue trigger: execute one step; the host deletes the message when we return."""
        received = Received(message_id, "", body, dequeue_count, datetime.max.replace(tzinfo=self._now().tzinfo))
        return self.executor().process(received, held=False)

    def fail_poisoned(self, body: str, reason: str = "", message_id: str = "") -> PoisonReport:
        return janitor.fail_poisoned(self._rt, body, reason or "the host gave up on it", message_id)

    def sweep(self) -> SweepReport:
        """The janitor: re-enqueue overdue runs, repair the index."""
        return janitor.sweep(self._rt)

    def _now(self) -> datetime:
        return self._rt.clock.now()
