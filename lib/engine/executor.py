"""Execute the step a delivered work item asks for: claim the lease, run the step, checkpoint, reschedule.

Two ways to hold a message:

- ``held=True`` (the driver): we received the message ourselves and own its pop receipt, so the same queue
  message is rewritten for the run's next step (``update``: new body, new visibility) instead of deleted and
  sent again.
- ``held=False`` (the Functions queue trigger): the host received the message and deletes it when we return,
  so follow-up work goes out as a new message.

On both, a ``Next`` step is executed right away under a lease granted by the checkpoint itself (no lease
write of its own), up to ``EngineConfig.max_chain`` steps per delivery. On the host that is what keeps a
transition at or under three storage transactions on average; reusing the host's message would not have
helped, because the host deletes it after we return whatever we did to it (figures: README, "Storage
transactions per step transition").
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Generic, TypeVar

from lib.domain.runs import RunEvent, RunRecord, RunStatus
from lib.engine.api import Outcome, StepContext, Workflow
from lib.engine.checkpoint import Checkpoint, Recorder, abort, after_step
from lib.engine.dispatch import Action, Decision, classify
from lib.engine.runtime import CrashPoint, Runtime
from lib.ports.run_store import EntityTooLarge, Lease, Loaded, StaleRun
from lib.ports.work_queue import BadWorkItem, MessageLost, Received, WorkItem

log = logging.getLogger("autopilot.engine")

D = TypeVar("D")


class ProcessAction(StrEnum):
    """What became of one delivered work item."""

    EXECUTED = "executed"  # one or more steps ran and were checkpointed
    POSTPONED = "postponed"  # not due yet, or another worker holds the lease: the message comes back later
    DROPPED = "dropped"  # a stale duplicate, or the run is finished or gone
    LOST = "lost"  # our checkpoint lost the ETag race; the step's result was discarded
    ABORTED = "aborted"  # the engine gave up on the run (crash loop)
    BAD_MESSAGE = "bad-message"  # not a work item at all


# A claimed step: the run with our lease, the wake edge to record first (if any), the message we hold.
Claim = tuple[Loaded, RunEvent | None, Received]


@dataclass(frozen=True)
class ProcessReport:
    run_id: str
    action: ProcessAction
    reason: str
    steps: int = 0
    status: RunStatus | None = None
    version: int = 0


class Executor(Generic[D]):
    """One worker. Not thread-safe: give every thread its own (the lease names the worker)."""

    def __init__(self, rt: Runtime[D], worker_id: str | None = None) -> None:
        self.rt = rt
        self.worker_id = worker_id or f"w-{uuid.uuid4().hex[:12]}"

    # -- claim ------------------------------------------------------------------------------------

    def process(self, msg: Received, *, held: bool) -> ProcessReport:
        try:
            item = WorkItem.decode(msg.body)
        except BadWorkItem as exc:
            log.warning("dropping message %s: %s", msg.message_id, exc)
            if held:
                self._delete(msg)
            return ProcessReport("", ProcessAction.BAD_MESSAGE, exc.reason)
        claim = self._claim(item, msg, held)
        if isinstance(claim, ProcessReport):
            return claim
        loaded, wake, msg = claim
        return self._execute(item, loaded, wake, msg, held)

    def _claim(self, item: WorkItem, msg: Received, held: bool) -> ProcessReport | Claim:
        rt = self.rt
        loaded = rt.cache.get(item.run_id)
        fresh = loaded is None
        if loaded is None:
            loaded = rt.store.load(item.run_id)
        if loaded is not None:
            rt.crash(CrashPoint.RECEIVED, loaded.run)
        for _ in range(3):
            run = loaded.run if loaded else None
            now = rt.clock.now()
            decision = classify(run, item.version, msg.message_id, now, self.worker_id)
            if decision.action is not Action.EXECUTE and not fresh:
                loaded, fresh = rt.store.load(item.run_id), True  # never drop or defer on a cached view
                continue
            if decision.action is not Action.EXECUTE:
                return self._pass(item, msg, held, run, decision=decision, now=now)
            assert loaded is not None
            claimed = self._lease(item, msg, held, loaded, wake=decision.wake, now=now)
            if claimed is not None:
                return claimed
            loaded, fresh = rt.store.load(item.run_id), True
        assert loaded is not None
        self._postpone(msg, held, loaded.run, timedelta(seconds=1))
        return ProcessReport(item.run_id, ProcessAction.POSTPONED, "lost the lease race repeatedly")

    def _pass(
        self, item: WorkItem, msg: Received, held: bool, run: RunRecord | None, *, decision: Decision, now: datetime
    ) -> ProcessReport:
        """Not ours to execute now: drop a stale or pointless message, postpone an early or leased one."""
        if decision.action is Action.DROP:
            if held:
                self._delete(msg)
            return ProcessReport(item.run_id, ProcessAction.DROPPED, decision.reason)
        assert run is not None and decision.until is not None
        self._postpone(msg, held, run, decision.until - now + timedelta(milliseconds=100))
        return ProcessReport(
            item.run_id, ProcessAction.POSTPONED, decision.reason, status=run.status, version=run.version
        )

    def _lease(
        self, item: WorkItem, msg: Received, held: bool, loaded: Loaded, *, wake: RunEvent | None, now: datetime
    ) -> ProcessReport | Claim | None:
        """Take the run's lease under its ETag; None when another writer came first (load again and retry)."""
        rt, run = self.rt, loaded.run
        lease = Lease(self.worker_id, now + rt.leases.lease, msg.message_id, run.claims + 1)
        try:
            if run.claims >= rt.config.max_claims:
                return self._crash_loop(loaded, msg, held)
            etag = rt.store.save_lease(run.run_id, loaded.etag, lease)
        except StaleRun:
            rt.cache.drop(item.run_id)
            return None
        run = replace(run, lease_owner=lease.owner, lease_until=lease.until, msg_id=lease.msg_id, claims=lease.claims)
        if held and msg.hold_until - now < rt.leases.step_budget:
            msg = self._extend(msg, WorkItem(run.run_id, run.version, item.base))
        return Loaded(run, etag), wake, msg

    def _crash_loop(self, loaded: Loaded, msg: Received, held: bool) -> ProcessReport:
        """Every worker that claimed this step died before its checkpoint: stop feeding it new workers."""
        run = loaded.run
        reason = f"step {run.step!r} was started {run.claims} times and never reached a checkpoint (worker crashes)"
        cp = self.rt.stage(run, abort(self._recorder(run, None), reason, "CrashLoop", {"claims": run.claims}))
        etag = self.rt.store.save(cp.run, loaded.etag, cp.history, previous=run)
        self.rt.cache.put(Loaded(cp.run, etag))
        self.rt.notify(cp.run, cp.history)
        self.rt.index(run.status, cp.run)
        if held:
            self._delete(msg)
        return ProcessReport(run.run_id, ProcessAction.ABORTED, reason, 0, cp.run.status, cp.run.version)

    # -- execute ----------------------------------------------------------------------------------

    def _execute(
        self, item: WorkItem, loaded: Loaded, wake: RunEvent | None, msg: Received, held: bool
    ) -> ProcessReport:
        rt = self.rt
        run, etag, steps = loaded.run, loaded.etag, 0
        while True:
            rt.crash(CrashPoint.BEFORE_STEP, run)
            cp = self._run_step(run, wake)
            rt.crash(CrashPoint.AFTER_STEP, run)
            go_on = cp.run.status is RunStatus.RUNNING and steps + 1 < rt.config.max_chain
            try:
                cp, etag = self._save(run, wake, cp, etag, msg, go_on=go_on)
            except StaleRun:
                rt.cache.drop(run.run_id)
                return self._lost(item, msg, held, steps)
            new = cp.run
            go_on = go_on and new.status is RunStatus.RUNNING  # not when the state was too large to save
            rt.cache.put(Loaded(new, etag))
            steps += 1
            rt.notify(new, cp.history)
            rt.index(run.status, new)
            rt.crash(CrashPoint.AFTER_CHECKPOINT, new)
            if not go_on:
                self._reschedule(msg, held, new)
                return ProcessReport(new.run_id, ProcessAction.EXECUTED, new.reason, steps, new.status, new.version)
            if msg.hold_until - rt.clock.now() < rt.leases.step_budget:
                try:
                    msg = rt.queue.update(msg, WorkItem(new.run_id, new.version, item.base).encode(), self._lease_s + 1)
                except MessageLost:
                    return ProcessReport(
                        new.run_id, ProcessAction.EXECUTED, "message taken over", steps, new.status, new.version
                    )
            run, wake = new, None

    def _save(
        self, run: RunRecord, wake: RunEvent | None, cp: Checkpoint, etag: str, msg: Received, *, go_on: bool
    ) -> tuple[Checkpoint, str]:
        """Save the step's checkpoint under ``etag`` (``StaleRun`` if we lost the race). A state too large for
        the store ends the run instead of failing the step forever."""
        rt = self.rt
        now = rt.clock.now()
        cp = rt.stage(run, cp)
        # The lease for the next step travels in this checkpoint: no separate lease write when we go on.
        new = replace(
            cp.run,
            lease_owner=self.worker_id if go_on else "",
            lease_until=now + rt.leases.lease if go_on else None,
            msg_id=msg.message_id,
        )
        try:
            return Checkpoint(new, cp.history), rt.store.save(new, etag, cp.history, previous=run)
        except EntityTooLarge as exc:
            aborted = rt.stage(run, abort(self._recorder(run, wake), str(exc), "StateTooLarge", {"size": exc.size}))
            new = replace(aborted.run, msg_id=msg.message_id)
            return Checkpoint(new, aborted.history), rt.store.save(new, etag, aborted.history, previous=run)

    def _recorder(self, run: RunRecord, wake: RunEvent | None) -> Recorder:
        rec = Recorder(run, self.rt.clock.now(), self.worker_id)
        if wake is not None:
            reason = {RunEvent.START: "picked up", RunEvent.TIMER_FIRED: "timer fired"}.get(wake, "approval timed out")
            rec.edge(wake, run.step, reason=reason)
        return rec

    def _run_step(self, run: RunRecord, wake: RunEvent | None) -> Checkpoint:
        rt = self.rt
        workflow: Workflow[D] | None = rt.registry.get(run.workflow)
        if workflow is None:
            reason = f"no workflow named {run.workflow!r} is registered"
            return abort(self._recorder(run, wake), reason, "UnknownWorkflow")
        try:
            step = workflow.step(run.step)
        except KeyError:
            reason = f"workflow {run.workflow!r} has no step {run.step!r}"
            return abort(self._recorder(run, wake), reason, "UnknownStep")
        ctx = StepContext(
            run_id=run.run_id,
            workflow=run.workflow,
            step=run.step,
            input=copy.deepcopy(dict(run.input)),
            state=copy.deepcopy(dict(run.state)),
            now=rt.clock.now(),
            run_started_at=run.created_at,
            step_started_at=run.step_started_at,
            attempt=run.attempt,
            approval_timed_out=wake is RunEvent.APPROVAL_TIMEOUT,
            approved_by=run.approved_by or None,
            decision=run.decision or None,
        )
        result: Outcome | BaseException
        with rt.step_scope(run) as scope:
            try:
                result = step.run(ctx, rt.deps)
                json.dumps(ctx.state)  # fail here, as the step's error, rather than in the store
            except Exception as exc:
                result = exc
            scope.done(ctx.state, result)
        cp = after_step(self._recorder(run, wake), workflow, result, ctx.state, timing=rt.timing, retry=rt.config.retry)
        # Events go out with the outcome they describe; a step that raised is retried and raises them again.
        return cp if isinstance(result, BaseException) else replace(cp, raised=tuple(ctx.events))

    # -- messages ---------------------------------------------------------------------------------

    @property
    def _lease_s(self) -> int:
        return int(self.rt.leases.lease.total_seconds())

    def _reschedule(self, msg: Received, held: bool, run: RunRecord) -> None:
        rt = self.rt
        if run.due_at is None:  # finished, or paused until someone approves: nothing to schedule
            if held:
                self._delete(msg)
            return
        visible_in = rt.timing.visible_in_s(run.due_at, rt.clock.now())
        body = WorkItem(run.run_id, run.version, msg.dequeue_count if held else 0).encode()
        self._send_or_update(msg, held, body, visible_in)

    def _postpone(self, msg: Received, held: bool, run: RunRecord, delay: timedelta) -> None:
        visible_in = self.rt.timing.visible_in_s(self.rt.clock.now() + delay, self.rt.clock.now())
        body = WorkItem(run.run_id, run.version, msg.dequeue_count if held else 0).encode()
        self._send_or_update(msg, held, body, visible_in)

    def _send_or_update(self, msg: Received, held: bool, body: str, visible_in: int) -> None:
        if not held:
            self.rt.queue.send(body, visible_in)
            return
        try:
            self.rt.queue.update(msg, body, visible_in)
        except MessageLost as exc:
            # Whoever received it after us holds it now; as the run's message it will be adopted, not lost.
            log.info("could not reschedule message %s: %s", msg.message_id, exc.reason)

    def _extend(self, msg: Received, item: WorkItem) -> Received:
        try:
            return self.rt.queue.update(msg, item.encode(), self._lease_s + 1)
        except MessageLost:
            return msg  # the lease still protects the step; only rescheduling will notice

    def _delete(self, msg: Received) -> None:
        with contextlib.suppress(MessageLost):
            self.rt.queue.delete(msg)

    def _lost(self, item: WorkItem, msg: Received, held: bool, steps: int) -> ProcessReport:
        """Our checkpoint lost the ETag race (an operator cancelled, or our lease lapsed and another worker
        took over). Our step's result is discarded; the message is handled as the run now stands."""
        loaded = self.rt.store.load(item.run_id)
        run = loaded.run if loaded else None
        now = self.rt.clock.now()
        decision = classify(run, item.version, msg.message_id, now, self.worker_id)
        if run is None or decision.action is Action.DROP:
            if held:
                self._delete(msg)
        else:
            until = decision.until or now
            self._postpone(msg, held, run, until - now + timedelta(milliseconds=100))
        status, version = (run.status, run.version) if run else (None, 0)
        return ProcessReport(
            item.run_id, ProcessAction.LOST, f"checkpoint lost the race: {decision.reason}", steps, status, version
        )
