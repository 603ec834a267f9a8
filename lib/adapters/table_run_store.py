"""RunStore on Azure Table storage (Azurite locally and in tests).

Runs table: one partition per run (``PartitionKey = run id``) holding the run entity (``RowKey = "run"``)
and its history rows (``RowKey = h000000001, ...``), so a checkpoint is one entity-group transaction
guarded by the run's ETag. Index table: partition ``runs`` lists runs newest first (inverted time in the
RowKey, status as a property for filtering); partition ``idem`` holds insert-only idempotency keys.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import TableClient, TableTransactionError, UpdateMode

from lib.adapters import table_codec as codec
from lib.adapters.storage_clients import StorageClients
from lib.domain.runs import ACTIVE, HistoryRecord, RunRecord, RunStatus, RunSummary
from lib.ports.run_store import KeyClaim, Lease, Loaded, RunAlreadyExists, RunPage, StaleRun

_IF_MATCH = MatchConditions.IfNotModified


class TableRunStore:
    def __init__(self, runs: TableClient, index: TableClient) -> None:
        self._runs = runs
        self._index = index

    @classmethod
    def from_clients(cls, clients: StorageClients, runs_table: str, index_table: str) -> TableRunStore:
        return cls(clients.table(runs_table), clients.table(index_table))

    def create_tables(self) -> None:
        for table in (self._runs, self._index):
            with contextlib.suppress(ResourceExistsError):
                table.create_table()

    # -- runs and history -------------------------------------------------------------------------

    def create(self, run: RunRecord, history: Sequence[HistoryRecord]) -> str:
        ops: list[Any] = [("create", codec.run_to_entity(run))]
        ops += [("create", codec.history_to_entity(run.run_id, h)) for h in history]
        try:
            results = self._runs.submit_transaction(ops)
        except TableTransactionError as exc:
            if exc.status_code == 409:
                raise RunAlreadyExists(run.run_id) from None
            raise
        return str(results[0]["etag"])

    def load(self, run_id: str) -> Loaded | None:
        try:
            entity = self._runs.get_entity(run_id, codec.RUN_ROW)
        except ResourceNotFoundError:
            return None
        return Loaded(codec.entity_to_run(entity), str(entity.metadata["etag"]))

    def load_status(self, run_id: str) -> RunStatus | None:
        try:
            entity = self._runs.get_entity(run_id, codec.RUN_ROW, select=["status"])
        except ResourceNotFoundError:
            return None
        return RunStatus(entity["status"])

    def load_with_history(self, run_id: str) -> tuple[Loaded, list[HistoryRecord]] | None:
        loaded: Loaded | None = None
        history: list[HistoryRecord] = []
        for entity in self._runs.query_entities("PartitionKey eq @pk", parameters={"pk": run_id}):
            if entity["RowKey"] == codec.RUN_ROW:
                loaded = Loaded(codec.entity_to_run(entity), str(entity.metadata["etag"]))
            elif str(entity["RowKey"]).startswith("h"):
                history.append(codec.entity_to_history(entity))
        if loaded is None:
            return None
        return loaded, sorted(history, key=lambda h: h.seq)

    def save(self, run: RunRecord, etag: str, history: Sequence[HistoryRecord], *, previous: RunRecord | None) -> str:
        if previous is None:
            entity, mode = codec.run_to_entity(run), UpdateMode.REPLACE
        else:
            stored_chunks = codec.chunk_count(codec.dump_json(previous.state))
            entity, mode = codec.run_delta(run, previous, stored_chunks), UpdateMode.MERGE
        ops: list[Any] = [("update", entity, {"mode": mode, "etag": etag, "match_condition": _IF_MATCH})]
        ops += [("create", codec.history_to_entity(run.run_id, h)) for h in history]
        try:
            results = self._runs.submit_transaction(ops)
        except TableTransactionError as exc:
            # 412: the ETag moved on. 404: the run is gone. 409: a history row with our sequence number
            # exists, i.e. someone appended under the same ETag first. All mean "you lost the race".
            if exc.status_code in (404, 409, 412):
                raise StaleRun(run.run_id, etag) from None
            raise
        return str(results[0]["etag"])

    def save_lease(self, run_id: str, etag: str, lease: Lease) -> str:
        entity = {
            "PartitionKey": run_id,
            "RowKey": codec.RUN_ROW,
            "lease_owner": lease.owner,
            "lease_until": codec.iso_or_empty(lease.until),
            "msg_id": lease.msg_id,
            "claims": lease.claims,
        }
        try:
            meta = self._runs.update_entity(entity, mode=UpdateMode.MERGE, etag=etag, match_condition=_IF_MATCH)
        except (ResourceModifiedError, ResourceNotFoundError):
            raise StaleRun(run_id, etag) from None
        return str(meta["etag"])

    # -- idempotency keys and the index -----------------------------------------------------------

    def claim_key(self, key: str, run_id: str, workflow: str, created_at: datetime) -> KeyClaim:
        row = hashlib.sha256(key.encode()).hexdigest()
        entity = {
            "PartitionKey": codec.KEY_PARTITION,
            "RowKey": row,
            "key": key[:1000],
            "run_id": run_id,
            "workflow": workflow,
            "created_at": codec.iso(created_at),
        }
        try:
            self._index.create_entity(entity)
            return KeyClaim(key, run_id, workflow, created_at, claimed=True)
        except ResourceExistsError:
            got = self._index.get_entity(codec.KEY_PARTITION, row)
            return KeyClaim(key, str(got["run_id"]), str(got["workflow"]), codec.parse_time(got["created_at"]), False)

    def index_put(self, summary: RunSummary) -> None:
        self._index.upsert_entity(codec.summary_to_entity(summary), mode=UpdateMode.REPLACE)

    def index_delete(self, summary: RunSummary) -> None:
        with contextlib.suppress(ResourceNotFoundError):
            self._index.delete_entity(codec.INDEX_PARTITION, codec.index_row_key(summary.run_id, summary.created_at))

    def index_list(self, status: RunStatus | None, limit: int, continuation: str | None) -> RunPage:
        query = "PartitionKey eq @pk"
        params: dict[str, Any] = {"pk": codec.INDEX_PARTITION}
        if continuation:
            query += " and RowKey gt @after"
            params["after"] = codec.decode_token(continuation)
        if status is not None:
            query += " and status eq @status"
            params["status"] = status.value
        items: list[RunSummary] = []
        last_key = ""
        for entity in self._query(query, params, page_size=min(max(limit, 1), 1000)):
            items.append(codec.entity_to_summary(entity))
            last_key = str(entity["RowKey"])
            if len(items) >= limit:
                break
        more = len(items) >= limit and bool(last_key)
        return RunPage(items, codec.encode_token(last_key) if more else None)

    def index_active(self) -> list[RunSummary]:
        statuses = sorted(s.value for s in ACTIVE)
        clauses = " or ".join(f"status eq @s{i}" for i in range(len(statuses)))
        params: dict[str, Any] = {"pk": codec.INDEX_PARTITION} | {f"s{i}": s for i, s in enumerate(statuses)}
        # The SDK substitutes @names between spaces only, hence "( ... )".
        rows = self._query(f"PartitionKey eq @pk and ( {clauses} )", params, page_size=1000)
        return [codec.entity_to_summary(e) for e in rows]

    def _query(self, query: str, params: dict[str, Any], page_size: int) -> Iterator[Any]:
        yield from self._index.query_entities(query, parameters=params, results_per_page=page_size)
