"""ReadinessStore on Azure Table storage.

One table: partition ``latest`` (one row per target, RowKey = the target key in base64url, since plan names may
hold characters RowKeys refuse), partition ``h-<that key>`` (history, RowKey = inverted time so the newest comes
first) and the row ``meta``/``last`` (the time of the last successful evaluation).
"""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.data.tables import TableClient, UpdateMode

from lib.adapters import table_codec as codec
from lib.adapters.storage_clients import StorageClients
from lib.readiness.model import TargetReadiness

__all__ = ["TableReadinessStore"]

_LATEST = "latest"
_MAX_TICKS = 10**19  # inverted time: RowKeys sort ascending, history reads newest first


def _key(target: str) -> str:
    return base64.urlsafe_b64encode(target.encode()).decode().rstrip("=")


def _inverted(at: datetime) -> str:
    return f"{_MAX_TICKS - int(at.timestamp() * 1_000_000):020d}"


def _entity(partition: str, row: str, result: TargetReadiness) -> dict[str, Any]:
    entity: dict[str, Any] = {"PartitionKey": partition, "RowKey": row, "Target": result.target,
                              "State": result.state.value, "EvaluatedAt": codec.iso(result.evaluated_at)}  # fmt: skip
    codec.put_chunks(entity, "Body", json.dumps(result.to_json(), separators=(",", ":")))
    return entity


def _result(entity: Any) -> TargetReadiness:
    return TargetReadiness.from_json(json.loads(codec.get_chunks(entity, "Body", str(entity["RowKey"]))))


class TableReadinessStore:
    def __init__(self, table: TableClient) -> None:
        self._table = table

    @classmethod
    def from_clients(cls, clients: StorageClients, table: str) -> TableReadinessStore:
        return cls(clients.table(table))

    def ensure_table(self) -> None:
        with contextlib.suppress(ResourceExistsError):
            self._table.create_table()

    def latest(self) -> list[TargetReadiness]:
        rows = self._table.query_entities("PartitionKey eq @p", parameters={"p": _LATEST})
        return sorted((_result(e) for e in rows), key=lambda r: r.target)

    def save(self, results: Sequence[TargetReadiness], at: datetime) -> None:
        keep = {_key(r.target) for r in results}
        for result in results:
            key = _key(result.target)
            self._table.upsert_entity(_entity(f"h-{key}", _inverted(result.evaluated_at), result), UpdateMode.REPLACE)
            self._table.upsert_entity(_entity(_LATEST, key, result), UpdateMode.REPLACE)
        for stale in self._table.query_entities("PartitionKey eq @p", parameters={"p": _LATEST}, select=["RowKey"]):
            if stale["RowKey"] not in keep:  # a target that left the policy and the vault
                with contextlib.suppress(ResourceNotFoundError):
                    self._table.delete_entity(_LATEST, stale["RowKey"])
        meta = {"PartitionKey": "meta", "RowKey": "last", "At": codec.iso(at), "Targets": len(results)}
        self._table.upsert_entity(meta, UpdateMode.REPLACE)

    def last_evaluation(self) -> datetime | None:
        try:
            entity = self._table.get_entity("meta", "last")
        except ResourceNotFoundError:
            return None
        return codec.parse_time(entity["At"])

    def history(self, target: str, limit: int = 20) -> list[TargetReadiness]:
        rows = self._table.query_entities("PartitionKey eq @p", parameters={"p": f"h-{_key(target)}"},
                                          results_per_page=limit)  # fmt: skip
        out: list[TargetReadiness] = []
        for entity in rows:
            out.append(_result(entity))
            if len(out) >= limit:
                break
        return out
