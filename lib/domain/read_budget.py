"""The subscription's ARM read budget, shared by every active run: a ledger of reads per time bucket (pure).

ARM allows about 12,000 reads per hour per subscription, shared with everything else the customer runs; the
app keeps to a share of it (``DR_ARM_READS_PER_HOUR``, default 20 %). Time is cut into buckets
(``bucket_s``, one minute); each bucket holds at most its share of the hourly budget. A run that wants to
poll at ``wanted`` books its reads in the first bucket from ``wanted`` on with room left, and waits for
that bucket when it is later. Booking ahead, not spending as they come, is what lets many runs spread out
instead of all waking up together; a booking never blocks an earlier one (unlike a single token bucket fed
by future times). A poll larger than one bucket's share takes as many empty buckets as it needs.

Any hour therefore holds at most the budget plus one bucket's share (a window rarely aligns with buckets).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = ["ARM_READS_PER_HOUR", "DEFAULT_SHARE", "Booking", "ReadPace", "book", "prune"]

ARM_READS_PER_HOUR = 12_000  # ARM's documented read limit per subscription per hour
DEFAULT_SHARE = 0.2
MAX_BUCKETS_AHEAD = 7 * 24 * 60  # never book further than a week ahead (the queue's longest timer)


@dataclass(frozen=True)
class ReadPace:
    per_hour: float = ARM_READS_PER_HOUR * DEFAULT_SHARE
    bucket_s: float = 60.0

    def __post_init__(self) -> None:
        if self.per_hour <= 0 or self.bucket_s <= 0:
            raise ValueError(f"an ARM read budget needs positive figures, got {self.per_hour}/h per {self.bucket_s} s")

    @property
    def per_bucket(self) -> float:
        return self.per_hour * self.bucket_s / 3600.0

    def bucket(self, when: datetime) -> int:
        return math.floor(when.timestamp() / self.bucket_s)

    def start_of(self, bucket: int) -> datetime:
        return datetime.fromtimestamp(bucket * self.bucket_s, UTC)


@dataclass(frozen=True)
class Booking:
    at: datetime  # when the reads may be made (``wanted`` or later)
    ledger: dict[int, float]  # the ledger with this booking in it (pruned of past buckets)

    def delayed_s(self, wanted: datetime) -> float:
        return max(0.0, (self.at - wanted).total_seconds())


def prune(ledger: Mapping[int, float], now: datetime, pace: ReadPace) -> dict[int, float]:
    """Drop the buckets before ``now``'s: the past cannot be booked any more."""
    first = pace.bucket(now)
    return {b: n for b, n in ledger.items() if b >= first}


def book(ledger: Mapping[int, float], reads: float, wanted: datetime, now: datetime, pace: ReadPace) -> Booking:
    """Book ``reads`` at or after ``wanted`` (at least ``now``); see the module's doc."""
    kept = prune(ledger, now, pace)
    start = pace.bucket(max(wanted, now))
    need = max(1, math.ceil(reads / pace.per_bucket)) if reads > pace.per_bucket else 1
    for b in range(start, start + MAX_BUCKETS_AHEAD):
        span = range(b, b + need)
        if need == 1 and kept.get(b, 0.0) + reads <= pace.per_bucket:
            kept[b] = kept.get(b, 0.0) + reads
        elif need > 1 and all(kept.get(x, 0.0) == 0.0 for x in span):
            for x in span:
                kept[x] = min(pace.per_bucket, reads - (x - b) * pace.per_bucket)
        else:
            continue
        return Booking(max(wanted, now, pace.start_of(b)), kept)
    raise ValueError(f"no room for {reads} ARM reads within a week at {pace.per_hour:g}/h")
