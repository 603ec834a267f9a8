"""RunStore in process memory, for unit tests and demos: the same contract as ``TableRunStore``.

It keeps the very entities the table adapter would write (``table_codec``), so JSON round trips, text
bounds and the entity size limit behave alike; a write that loses its ETag race, or appends a history row
that exists already, raises ``StaleRun`` and changes nothing. One lock makes every operation atomic, which is
what an entity-group transaction gives the table adapter. Nothing survives the process.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from lib.adapters import table_codec as codec
from lib.domain.runs import ACTIVE, HistoryRecord, RunRecord, RunStatus, RunSummary
from lib.ports.run_store import KeyClaim, Lease, Loaded, RunAlreadyExists, RunPage, StaleRun

Entity = codec.Entity


@dataclass
class _Partition:
    run: Entity
    etag: str
    history: dict[int, Entity] = field(default_factory=dict)


class MemoryRunStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: dict[str, _Partition] = {}
        self._keys: dict[str, Entity] = {}
        self._index: dict[str, Entity] = {}  # by RowKey: ascending order lists the newest run first
        self._etags = itertools.count(1)

    def _etag(self) -> str:
        return f'W/"mem-{next(self._etags)}"'

    # -- runs and history -------------------------------------------------------------------------

    def create(self, run: RunRecord, history: Sequence[HistoryRecord]) -> str:
        entity = codec.run_to_entity(run)
        rows = {h.seq: codec.history_to_entity(run.run_id, h) for h in history}
        with self._lock:
            if run.run_id in self._runs:
                raise RunAlreadyExists(run.run_id)
            etag = self._etag()
            self._runs[run.run_id] = _Partition(entity, etag, rows)
            return etag

    def load(self, run_id: str) -> Loaded | None:
        with self._lock:
            part = self._runs.get(run_id)
            if part is None:
                return None
            entity, etag = part.run, part.etag
        # Stored entities are replaced, never mutated, so decoding outside the lock is safe.
        return Loaded(codec.entity_to_run(entity), etag)

    def load_status(self, run_id: str) -> RunStatus | None:
        with self._lock:
            part = self._runs.get(run_id)
            return None if part is None else RunStatus(part.run["status"])

    def load_with_history(self, run_id: str) -> tuple[Loaded, list[HistoryRecord]] | None:
        with self._lock:
            part = self._runs.get(run_id)
            if part is None:
                return None
            entity, etag, rows = part.run, part.etag, [part.history[seq] for seq in sorted(part.history)]
        return Loaded(codec.entity_to_run(entity), etag), [codec.entity_to_history(row) for row in rows]

    def save(self, run: RunRecord, etag: str, history: Sequence[HistoryRecord], *, previous: RunRecord | None) -> str:
        # The same REPLACE or MERGE the table adapter sends, so a caller's ``previous`` means the same here.
        if previous is None:
            entity, merge = codec.run_to_entity(run), False
        else:
            stored_chunks = codec.chunk_count(codec.dump_json(previous.state))
            entity, merge = codec.run_delta(run, previous, stored_chunks), True
        rows = {h.seq: codec.history_to_entity(run.run_id, h) for h in history}
        with self._lock:
            part = self._runs.get(run.run_id)
            if part is None or part.etag != etag or any(seq in part.history for seq in rows):
                raise StaleRun(run.run_id, etag)
            part.run = {**part.run, **entity} if merge else entity
            part.history.update(rows)
            part.etag = self._etag()
            return part.etag

    def save_lease(self, run_id: str, etag: str, lease: Lease) -> str:
        fields = {
            "lease_owner": lease.owner,
            "lease_until": codec.iso_or_empty(lease.until),
            "msg_id": lease.msg_id,
            "claims": lease.claims,
        }
        with self._lock:
            part = self._runs.get(run_id)
            if part is None or part.etag != etag:
                raise StaleRun(run_id, etag)
            part.run = {**part.run, **fields}
            part.etag = self._etag()
            return part.etag

    # -- idempotency keys and the index -----------------------------------------------------------

    def claim_key(self, key: str, run_id: str, workflow: str, created_at: datetime) -> KeyClaim:
        with self._lock:
            got = self._keys.get(key)
            if got is None:
                self._keys[key] = {"run_id": run_id, "workflow": workflow, "created_at": codec.iso(created_at)}
                return KeyClaim(key, run_id, workflow, created_at, claimed=True)
        return KeyClaim(key, str(got["run_id"]), str(got["workflow"]), codec.parse_time(got["created_at"]), False)

    def index_put(self, summary: RunSummary) -> None:
        entity = codec.summary_to_entity(summary)
        with self._lock:
            self._index[str(entity["RowKey"])] = entity

    def index_delete(self, summary: RunSummary) -> None:
        with self._lock:
            self._index.pop(codec.index_row_key(summary.run_id, summary.created_at), None)

    def index_list(self, status: RunStatus | None, limit: int, continuation: str | None) -> RunPage:
        after = codec.decode_token(continuation) if continuation else ""
        with self._lock:
            rows = [(k, e) for k, e in sorted(self._index.items()) if k > after]
        picked = [(k, e) for k, e in rows if status is None or e["status"] == status.value][: max(limit, 1)]
        items = [codec.entity_to_summary(e) for _k, e in picked]
        # Like the table adapter: a full page always carries a continuation, even when nothing follows.
        more = len(items) >= limit and bool(picked)
        return RunPage(items, codec.encode_token(picked[-1][0]) if more else None)

    def index_active(self) -> list[RunSummary]:
        active = {s.value for s in ACTIVE}
        with self._lock:
            rows = [e for _k, e in sorted(self._index.items()) if e["status"] in active]
        return [codec.entity_to_summary(e) for e in rows]
