"""The run's event outbox: operator events ride in the run's own checkpoint and are published after it commits.

``stage`` (before a checkpoint is saved) puts the events the transition raised into ``run.outbox``, next to the
entries of earlier checkpoints this process has not seen settled. ``flush`` (after the save) hands the pending
entries to the sink, which publishes them or queues them for a retry with backoff; either way they are settled
and the next checkpoint drops them. A crash between save and flush leaves them in the run: its next checkpoint
carries them and flushes them again, and the janitor flushes a finished run it repairs. Delivery is therefore
at least once, with stable ids (a consumer dedupes on ``id``). A failing topic never fails a step: ``flush``
never raises, and the sink answers fast (it stops calling a failing topic for a while).
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from lib.domain.events import OperatorEvent, run_events, run_link
from lib.domain.runs import RunRecord
from lib.engine.checkpoint import Checkpoint
from lib.ports.events import EventSink

log = logging.getLogger("autopilot.events")

MAX_ENTRIES = 40  # pending events one run carries; older ones are dropped (with a log line) beyond this
# The outbox is one table property (64 KiB of UTF-16): the whole of it stays under BUDGET characters of JSON, and
# an event bigger than EVENT_LIMIT (a 1000-VM summary) goes out without its ``details``, so events never stop a
# checkpoint from being saved.
BUDGET = 24_000
EVENT_LIMIT = 6_000
SETTLED_MEMORY = 20_000  # event ids remembered as settled (a bounded LRU)


def raised_events(
    run: RunRecord, raised: Sequence[tuple[str, Mapping[str, Any]]], base_url: str
) -> list[OperatorEvent]:
    """Events a step raised itself (``StepContext.emit``), with the run's id and link added."""
    out = []
    for i, (kind, data) in enumerate(raised):
        body = {"runId": run.run_id, "runUrl": run_link(run.run_id, base_url), "workflow": run.workflow,
                "step": run.step, **dict(data)}  # fmt: skip
        ident = f"{run.run_id}/v{run.version}/{kind.rsplit('.', 1)[-1]}/{i}"
        out.append(OperatorEvent(ident, kind, f"runs/{run.run_id}", run.updated_at, body))
    return out


def _size(entry: Mapping[str, Any]) -> int:
    return len(json.dumps(entry, default=str, ensure_ascii=False))


def _slim(entry: dict[str, Any]) -> dict[str, Any]:
    if _size(entry) <= EVENT_LIMIT:
        return entry
    data = {k: v for k, v in entry["data"].items() if k != "details"}
    data["truncated"] = "details left out: see the run (runUrl)"
    slim = {**entry, "data": data}
    return slim if _size(slim) <= EVENT_LIMIT else {**entry, "data": {k: data[k] for k in ("runId", "runUrl")}}


def _bounded(run_id: str, entries: list[dict[str, Any]], max_entries: int) -> list[dict[str, Any]]:
    """The newest entries that fit ``max_entries`` and ``BUDGET``; the dropped ones are logged."""
    kept: list[dict[str, Any]] = []
    total = 0
    for entry in reversed(entries):
        total += _size(entry) + 1
        if len(kept) == max_entries or total > BUDGET:
            break
        kept.append(entry)
    dropped = entries[: len(entries) - len(kept)]
    if dropped:
        log.error("run %s: dropping %d unpublished events (outbox full): %s", run_id, len(dropped),
                  [e.get("id") for e in dropped])  # fmt: skip
    return kept[::-1]


class RunOutbox:
    def __init__(self, sink: EventSink, base_url: str = "", max_entries: int = MAX_ENTRIES) -> None:
        self._sink = sink
        self._base_url = base_url
        self._max = max_entries
        self._settled: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def stage(self, before: RunRecord, cp: Checkpoint) -> Checkpoint:
        """``cp`` with its run's outbox: unsettled entries carried over, then this transition's events."""
        carried = [dict(e) for e in cp.run.outbox if not self._is_settled(str(e.get("id")))]
        new = run_events(before, cp.run, cp.history, self._base_url)
        new += raised_events(cp.run, cp.raised, self._base_url)
        entries = _bounded(cp.run.run_id, carried + [_slim(e.to_json()) for e in new], self._max)
        if not entries and not cp.run.outbox:
            return cp
        return replace(cp, run=replace(cp.run, outbox=tuple(entries)))

    def flush(self, run: RunRecord) -> None:
        pending = [e for e in run.outbox if not self._is_settled(str(e.get("id")))]
        if not pending:
            return
        try:
            events = [OperatorEvent.from_json(e) for e in pending]
            settled = self._sink.deliver(events)
        except Exception:  # the outbox must never break a run
            log.exception("run %s: could not hand %d events over", run.run_id, len(pending))
            return
        if settled:
            with self._lock:
                for event in events:
                    self._settled[event.id] = None
                while len(self._settled) > SETTLED_MEMORY:
                    self._settled.popitem(last=False)

    def _is_settled(self, event_id: str) -> bool:
        with self._lock:
            return event_id in self._settled
