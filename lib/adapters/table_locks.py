"""Item locks on Azure Tables: one entity per VM in one partition, so a set is taken in one transaction.

A lock is free when it expired or when its holder run is no longer active (``holder_active`` answers that
from the run store): a crashed or failed run never blocks a VM for long.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceExistsError
from azure.data.tables import TableClient, TableEntity, TransactionOperation, UpdateMode

PARTITION = "itemlock"
BATCH = 100  # entity-group transaction limit


class TableItemLocks:
    def __init__(
        self,
        table: TableClient,
        holder_active: Callable[[str], bool] = lambda _run: True,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._table = table
        self._holder_active = holder_active
        self._clock = clock

    def ensure_table(self) -> None:
        with contextlib.suppress(ResourceExistsError):
            self._table.create_table()

    def _existing(self, keys: Sequence[str]) -> dict[str, TableEntity]:
        wanted = set(keys)
        found: dict[str, TableEntity] = {}
        for entity in self._table.query_entities(f"PartitionKey eq '{PARTITION}'"):
            if entity["RowKey"] in wanted:
                found[entity["RowKey"]] = entity
        return found

    def holders(self, names: Sequence[str]) -> dict[str, str]:
        """Read-only: {name: run id} for the names a live run holds now (what ``acquire`` would refuse)."""
        now = self._clock()
        held: dict[str, str] = {}
        for key, entity in self._existing(sorted({n.lower() for n in names})).items():
            holder = str(entity["holder"])
            if entity["expires"] > now and self._holder_active(holder):
                held[key] = holder
        return held

    def acquire(self, names: Sequence[str], run_id: str, ttl: timedelta) -> dict[str, str]:
        keys = sorted({n.lower() for n in names})
        now = self._clock()
        existing = self._existing(keys)
        conflicts: dict[str, str] = {}
        ops: list[tuple[TransactionOperation, dict[str, Any], dict[str, Any]]] = []
        for key in keys:
            entity = {"PartitionKey": PARTITION, "RowKey": key, "holder": run_id, "expires": now + ttl}
            current = existing.get(key)
            if current is None:
                ops.append((TransactionOperation.CREATE, entity, {}))
                continue
            holder = str(current["holder"])
            expired = current["expires"] <= now
            if holder != run_id and not expired and self._holder_active(holder):
                conflicts[key] = holder
                continue
            etag = {"etag": current.metadata["etag"], "match_condition": MatchConditions.IfNotModified}
            ops.append((TransactionOperation.UPDATE, entity, {"mode": UpdateMode.REPLACE, **etag}))
        if conflicts:
            return conflicts
        taken: list[str] = []
        for start in range(0, len(ops), BATCH):
            chunk = ops[start : start + BATCH]
            try:
                self._table.submit_transaction(chunk)
            except (HttpResponseError, ResourceExistsError):
                # Someone took one of these between our read and our write: give back what we took.
                self.release(taken, run_id)
                fresh = self._existing(keys)
                return {k: str(e["holder"]) for k, e in fresh.items() if e["holder"] != run_id} or {"?": "unknown"}
            taken.extend(op[1]["RowKey"] for op in chunk)
        return {}

    def release(self, names: Sequence[str], run_id: str) -> None:
        keys = {n.lower() for n in names}
        mine = [e for k, e in self._existing(sorted(keys)).items() if e["holder"] == run_id]
        for start in range(0, len(mine), BATCH):
            chunk = [
                (
                    TransactionOperation.DELETE,
                    e,
                    {"etag": e.metadata["etag"], "match_condition": MatchConditions.IfNotModified},
                )
                for e in mine[start : start + BATCH]
            ]
            # A lock changed meanwhile is no longer ours to delete.
            with contextlib.suppress(HttpResponseError):
                self._table.submit_transaction(chunk)
