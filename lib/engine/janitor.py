"""Recovery that runs on a timer: lost work items, index rows that disagree with their run, poison messages."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from lib.domain.runs import IllegalTransition, RunRecord, RunSummary, listed_status
from lib.engine import operations as ops
from lib.engine.checkpoint import Checkpoint
from lib.engine.errors import RunNotFound
from lib.engine.runtime import Runtime
from lib.ports.work_queue import BadWorkItem, WorkItem

log = logging.getLogger("autopilot.engine")

D = TypeVar("D")


@dataclass
class SweepReport:
    scanned: int = 0
    requeued: list[str] = field(default_factory=list)  # runs whose step was overdue: a fresh work item was sent
    repaired: list[str] = field(default_factory=list)  # index rows rewritten to match their run
    orphans: list[str] = field(default_factory=list)  # index rows of runs that were never created


def sweep(rt: Runtime[D]) -> SweepReport:
    """Inspect every run the index lists as active.

    A run is overdue when its step was due more than the (scaled) grace ago and no worker holds its lease:
    its message was lost (a crash between checkpoint and enqueue, a deleted message). The fresh work item
    carries the run's version, so if the old message was only late, one of the two is dropped as stale.
    """
    report = SweepReport()
    now = rt.clock.now()
    grace = rt.timing.scaled(rt.config.janitor_grace)
    for summary in rt.store.index_active():
        report.scanned += 1
        loaded = rt.store.load(summary.run_id)
        if loaded is None:
            if summary.created_at + grace < now:  # a start that died between the index row and the run
                rt.store.index_delete(summary)
                report.orphans.append(summary.run_id)
            continue
        run = loaded.run
        if listed_status(run.status) is not summary.status:
            if rt.outbox is not None:  # its last checkpoint may not have been followed through
                rt.outbox.flush(run)
            rt.store.index_put(RunSummary.of(run))
            report.repaired.append(run.run_id)
        leased = run.lease_held_by_other("", now)
        if run.active and run.due_at is not None and run.due_at + grace <= now and not leased:
            rt.queue.send(WorkItem(run.run_id, run.version).encode(), 0)
            report.requeued.append(run.run_id)
    if report.requeued or report.repaired or report.orphans:
        log.warning("janitor: requeued %s, repaired %s, orphans %s", report.requeued, report.repaired, report.orphans)
    return report


@dataclass(frozen=True)
class PoisonReport:
    run_id: str
    action: str  # failed | ignored
    reason: str


def fail_poisoned(rt: Runtime[D], body: str, reason: str, message_id: str = "") -> PoisonReport:
    """A work item that kept crashing its worker ends its run as failed, with the reason in history.

    Only a live item fails the run (its version is current, or it is the run's own message, ``message_id``
    being its id before it was moved): a stale duplicate says nothing about the run, and if the run really
    lost its message the janitor re-enqueues it.
    """
    try:
        item = WorkItem.decode(body)
    except BadWorkItem as exc:
        return PoisonReport("", "ignored", f"not a work item: {exc.reason}")
    message_id = message_id or _poisoned_from(body)
    loaded = rt.store.load(item.run_id)
    if loaded is None:
        return PoisonReport(item.run_id, "ignored", "no such run")
    run = loaded.run
    if not run.active:
        return PoisonReport(item.run_id, "ignored", f"the run is already {run.status.value}")
    if item.version != run.version and not (message_id and message_id == run.msg_id):
        return PoisonReport(item.run_id, "ignored", f"stale work item (version {item.version} < {run.version})")
    text = f"work item kept failing and was moved to the poison queue: {reason}"

    def change(current: RunRecord, now: datetime) -> Checkpoint:
        return ops.abort(current, now, "poison-queue", text, "PoisonMessage")

    try:
        ops.update(rt, item.run_id, "abort", change)
    except RunNotFound:
        return PoisonReport(item.run_id, "ignored", "no such run")
    except IllegalTransition as exc:  # it finished meanwhile
        return PoisonReport(item.run_id, "ignored", str(exc))
    return PoisonReport(item.run_id, "failed", text)


def _poisoned_from(body: str) -> str:
    """The driver notes the original message id when it moves a message to the poison queue."""
    try:
        value = json.loads(body).get("poisoned_from", "")
    except (ValueError, AttributeError):
        return ""
    return value if isinstance(value, str) else ""
