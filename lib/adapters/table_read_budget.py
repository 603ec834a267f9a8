"""The ARM read budget on Azure Tables: one entity per subscription holds the booking ledger, ETag-guarded.

Every worker of every run books through the same entity, so the budget holds across workers and hosts (a
per-worker estimate would have to guess how many workers there are). Bookings are small and infrequent (one
per poll), so contention is low; a lost race reads the entity again and books again.
"""

from __future__ import annotations

import contextlib
import json
import logging
from datetime import datetime

from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.data.tables import TableClient, UpdateMode

from lib.domain.read_budget import ReadPace, book

PARTITION = "armreadbudget"
ATTEMPTS = 8  # races lost in a row before the booking is given up (the poll then goes ahead as wanted)
log = logging.getLogger(__name__)


class TableReadBudget:
    """``timer_scale`` (dev and tests only): workflow waits shrink by it, so the budget's clock does too — a
    wanted time ``d`` nominal seconds ahead is ``d * timer_scale`` real seconds ahead, and the hourly budget
    is spent in ``timer_scale`` of an hour."""

    def __init__(self, table: TableClient, subscription: str, pace: ReadPace, timer_scale: float = 1.0) -> None:
        self._table = table
        self._key = subscription or "default"
        self._scale = timer_scale if timer_scale > 0 else 1.0
        self.pace = ReadPace(pace.per_hour / self._scale, pace.bucket_s * self._scale)

    def ensure_table(self) -> None:
        with contextlib.suppress(ResourceExistsError):
            self._table.create_table()

    def ledger(self) -> dict[int, float]:
        """The bookings as stored (for tests and the status view)."""
        try:
            entity = self._table.get_entity(PARTITION, self._key)
        except ResourceNotFoundError:
            return {}
        return _decode(str(entity.get("ledger") or "{}"))

    def book(self, reads: float, wanted: datetime, now: datetime) -> datetime:
        real_wanted = now + (wanted - now) * self._scale
        real_at = self._book(reads, real_wanted, now)
        return now + (real_at - now) / self._scale

    def _book(self, reads: float, wanted: datetime, now: datetime) -> datetime:
        for _ in range(ATTEMPTS):
            try:
                return self._book_once(reads, wanted, now)
            except (ResourceExistsError, ResourceNotFoundError):
                continue  # another worker created or replaced it first: read again
            except HttpResponseError as exc:
                if exc.status_code != 412:
                    raise
        log.warning("ARM read budget: %d lost races in a row; polling as wanted", ATTEMPTS)
        return wanted

    def _book_once(self, reads: float, wanted: datetime, now: datetime) -> datetime:
        try:
            entity = self._table.get_entity(PARTITION, self._key)
        except ResourceNotFoundError:
            booking = book({}, reads, wanted, now, self.pace)
            self._table.create_entity(self._entity(booking.ledger))
            return booking.at
        booking = book(_decode(str(entity.get("ledger") or "{}")), reads, wanted, now, self.pace)
        self._table.update_entity(
            self._entity(booking.ledger),
            mode=UpdateMode.REPLACE,
            etag=entity.metadata["etag"],
            match_condition=MatchConditions.IfNotModified,
        )
        return booking.at

    def _entity(self, ledger: dict[int, float]) -> dict[str, object]:
        body = json.dumps({str(k): round(v, 3) for k, v in sorted(ledger.items())}, separators=(",", ":"))
        return {"PartitionKey": PARTITION, "RowKey": self._key, "ledger": body, "perHour": self.pace.per_hour}


def _decode(text: str) -> dict[int, float]:
    try:
        raw = json.loads(text)
    except ValueError:
        return {}  # an unreadable ledger is rebuilt: at worst one hour's bookings are forgotten
    return {int(k): float(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
