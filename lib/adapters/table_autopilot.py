"""The autopilot's audit trail on Azure Tables (Azurite locally and in tests).

Signals table: ``PartitionKey`` = region, ``RowKey`` = the notification key (escaped), so inserting a redelivered
notification fails with 409 and dedupes it. ``prune`` moves a closed incident's last resolve to the partition
``<region>~closed`` (``RowKey`` = the incident, escaped) and deletes its signals, so the region's partition, which
every evaluation reads, holds only what can still matter; a new notification of that incident moves it back.
Decisions table: ``PartitionKey`` = region (``-`` when the signal had none), ``RowKey`` = inverted time + id, so a
partition lists newest first and ``since`` is a RowKey range. A decision's claims (``add(record, once=...)``) are
rows ``~once~<key>`` in its partition, inserted with it in one entity-group transaction: a second record claiming
a key fails as a whole and stores nothing. Listings stop before ``~``, so claims never show as decisions.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.data.tables import TableClient, TableTransactionError, UpdateMode

from lib.guard.retention import closed_incidents
from lib.ports.autopilot import NO_REGION, DecisionRecord, Stored
from lib.signals import RegionHealthSignal

__all__ = ["TableDecisionStore", "TableSignalStore", "claim_row_key", "decision_row_key", "signal_row_key"]

MAX_PROPERTY = 30_000  # characters of one string property (64 KiB of UTF-16, with room to spare)
MAX_SCAN = 5_000  # decision rows read for one listing across regions at most
_TICKS = 10**13  # milliseconds since 1970 stay below this until the year 2286
CLOSED = "~closed"  # the partition suffix of a region's tombstones (region names are letters and digits)
BATCH = 100  # the most operations one entity-group transaction takes
CLAIM_PREFIX = "~once~"  # sorts after every decision row (they start with digits)


def signal_row_key(notification: str) -> str:
    """Table keys refuse / \\ # ? and control characters, and 1 KiB at most: escape, and digest long keys."""
    escaped = quote(notification, safe="")
    if len(escaped) <= 400:
        return escaped
    return escaped[:300] + "~" + hashlib.sha256(notification.encode()).hexdigest()


def claim_row_key(key: str) -> str:
    return CLAIM_PREFIX + signal_row_key(key)


def _inverted(at: datetime) -> str:
    return f"{_TICKS - 1 - int(at.timestamp() * 1000):013d}"


def decision_row_key(record: DecisionRecord) -> str:
    return f"{_inverted(record.decision.at)}-{record.id}"


def _signal_text(signal: RegionHealthSignal) -> str:
    text = json.dumps(signal.to_json(), separators=(",", ":"))
    if len(text) <= MAX_PROPERTY:
        return text
    body = signal.to_json()
    body["raw"] = {"truncated": f"the payload had {len(text)} characters; too large to keep in one entity"}
    return json.dumps(body, separators=(",", ":"))


def _ensure(table: TableClient) -> None:
    with contextlib.suppress(ResourceExistsError):
        table.create_table()


class TableSignalStore:
    def __init__(self, table: TableClient, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._table = table
        self._clock = clock  # stamps storedAt, which the duplicate grace and the retention read

    def ensure_table(self) -> None:
        _ensure(self._table)

    def add(self, region: str, signal: RegionHealthSignal) -> Stored:
        row = signal_row_key(signal.notification)
        now = self._clock()
        try:
            self._table.create_entity(self._entity(region, signal, now, weighed=False))
        except ResourceExistsError:
            found = self._table.get_entity(region, row, select=["weighed", "storedAt"])
            stored_at = found.get("storedAt")
            when = stored_at if isinstance(stored_at, datetime) else None
            return Stored(new=False, weighed=bool(found.get("weighed")), stored_at=when)
        self._revive(region, signal.incident, now)
        return Stored(new=True, weighed=False, stored_at=now)

    @staticmethod
    def _entity(region: str, signal: RegionHealthSignal, now: datetime, *, weighed: bool) -> dict[str, Any]:
        return {"PartitionKey": region, "RowKey": signal_row_key(signal.notification), "signal": _signal_text(signal),
                "at": signal.at, "incident": signal.incident[:MAX_PROPERTY], "weighed": weighed,
                "storedAt": now}  # fmt: skip

    def _revive(self, region: str, incident: str, now: datetime) -> None:
        """A new notification of an incident set aside: its last resolve goes back beside it, so the guard reads
        the incident as before (a late "active" older than that resolve leaves it resolved)."""
        key = (region + CLOSED, signal_row_key(incident))
        try:
            tomb = self._table.get_entity(*key, select=["signal"])
        except ResourceNotFoundError:
            return
        last = RegionHealthSignal.from_json(json.loads(tomb["signal"]))
        with contextlib.suppress(ResourceExistsError):
            self._table.create_entity(self._entity(region, last, now, weighed=True))
        with contextlib.suppress(ResourceNotFoundError):
            self._table.delete_entity(*key)

    def mark_weighed(self, region: str, notification: str) -> None:
        entity = {"PartitionKey": region, "RowKey": signal_row_key(notification), "weighed": True}
        self._table.update_entity(entity, mode=UpdateMode.MERGE)

    def list(self, region: str) -> list[RegionHealthSignal]:
        rows = self._table.query_entities("PartitionKey eq @region", parameters={"region": region},
                                          select=["signal"])  # fmt: skip
        return [RegionHealthSignal.from_json(json.loads(row["signal"])) for row in rows]

    def prune(self, region: str, stored_before: datetime) -> int:
        rows = self._table.query_entities("PartitionKey eq @region", parameters={"region": region},
                                          select=["signal", "storedAt"])  # fmt: skip
        stored = [(RegionHealthSignal.from_json(json.loads(r["signal"])), _when(r.get("storedAt"))) for r in rows]
        dropped = 0
        for closed in closed_incidents(stored, stored_before):
            # The tombstone first: a notification arriving meanwhile finds it and brings it back.
            self._table.upsert_entity({"PartitionKey": region + CLOSED, "RowKey": signal_row_key(closed.incident),
                                       "signal": _signal_text(closed.last), "closedAt": self._clock()})  # fmt: skip
            keys = [signal_row_key(n) for n in closed.notifications]
            for start in range(0, len(keys), BATCH):
                chunk = keys[start : start + BATCH]
                self._table.submit_transaction([("delete", {"PartitionKey": region, "RowKey": k}) for k in chunk])
                dropped += len(chunk)
        return dropped


def _when(value: object) -> datetime | None:
    return value if isinstance(value, datetime) else None


class TableDecisionStore:
    def __init__(self, table: TableClient) -> None:
        self._table = table

    def ensure_table(self) -> None:
        _ensure(self._table)

    def add(self, record: DecisionRecord, once: Sequence[str] = ()) -> frozenset[str]:
        partition = record.region or NO_REGION
        text = json.dumps(record.to_json(), separators=(",", ":"))
        row = {"PartitionKey": partition, "RowKey": decision_row_key(record), "record": text,
               "outcome": record.decision.outcome.value}  # fmt: skip
        if not once:
            self._table.create_entity(row)
            return frozenset()
        claims = [{"PartitionKey": partition, "RowKey": claim_row_key(key), "claim": key[:MAX_PROPERTY],
                   "decision": record.id} for key in once]  # fmt: skip
        try:
            self._table.submit_transaction([("create", entity) for entity in (*claims, row)])
        except TableTransactionError:
            held = frozenset(key for key in once if self._claimed(partition, key))
            if not held:
                raise  # not a claim held by another record: a real failure
            return held
        return frozenset()

    def _claimed(self, partition: str, key: str) -> bool:
        found = self._table.query_entities("PartitionKey eq @p and RowKey eq @r", select=["RowKey"],
                                           parameters={"p": partition, "r": claim_row_key(key)})  # fmt: skip
        return any(True for _ in found)

    def list(self, region: str | None, since: datetime | None, limit: int) -> list[DecisionRecord]:
        clauses, params = ["RowKey lt @claims"], {"claims": CLAIM_PREFIX}
        if region is not None:
            clauses.append("PartitionKey eq @region")
            params["region"] = region
        if since is not None:
            clauses.append("RowKey le @upto")
            params["upto"] = _inverted(since.astimezone(UTC)) + "~"
        pages = self._table.query_entities(" and ".join(clauses), parameters=params,
                                           select=["RowKey", "record"], results_per_page=min(limit, 1000))  # fmt: skip
        rows: list[Any] = []
        for row in pages:
            rows.append(row)
            if (region is not None and len(rows) >= limit) or len(rows) >= MAX_SCAN:
                break  # one partition is already newest first; across partitions, sort what was read
        rows.sort(key=lambda r: str(r["RowKey"]))
        return [DecisionRecord.from_json(json.loads(r["record"])) for r in rows[:limit]]

    def latest(self, region: str) -> DecisionRecord | None:
        found = self.list(region, None, 1)
        return found[0] if found else None
