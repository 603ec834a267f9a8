"""Where the autopilot keeps its audit trail: every region-health signal and every decision (Azure Tables).

A signal is stored once per region it concerns (insert-if-absent on its notification key: a redelivery finds it
there); a decision is stored with the runs it started, newest first per region.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from lib.guard import Decision
from lib.signals import RegionHealthSignal

__all__ = ["NO_REGION", "DecisionRecord", "DecisionStore", "SignalStore", "Stored"]

NO_REGION = "-"  # where decisions about signals without a region (ignored ones) are kept


@dataclass(frozen=True)
class Stored:
    """What ``SignalStore.add`` found: ``new`` when this call inserted it; ``weighed`` once a decision weighed it;
    ``stored_at`` when it was inserted (the store's own clock), to tell a worker still busy with it from one
    that died before weighing it."""

    new: bool
    weighed: bool
    stored_at: datetime | None = None


@dataclass(frozen=True)
class DecisionRecord:
    """A guard decision as the audit trail keeps it: its id, the runs it started, the notification that led
    to it (None for a timer), and the decision itself."""

    id: str
    decision: Decision
    runs: tuple[str, ...] = ()
    signal: str | None = None

    @property
    def region(self) -> str:
        return self.decision.region

    def to_json(self) -> dict[str, Any]:
        """The public shape (``GET /api/decisions``): the issue's fields first, then the details."""
        body = self.decision.to_json()
        return {
            "id": self.id,
            "at": body.pop("at"),
            "region": body.pop("region"),
            "incident": body.pop("incident"),
            "sources": body.pop("sources"),
            "outcome": body.pop("outcome"),
            "reasons": body.pop("reasons"),
            "runs": list(self.runs),
            "policyHash": body.pop("policyHash"),
            "signal": self.signal,
            **body,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DecisionRecord:
        signal = data.get("signal")
        return cls(
            id=str(data["id"]),
            decision=Decision.from_json(data),
            runs=tuple(str(r) for r in data.get("runs", ())),
            signal=str(signal) if signal is not None else None,
        )


class SignalStore(Protocol):
    def add(self, region: str, signal: RegionHealthSignal) -> Stored:
        """Insert the signal under ``region`` unless its notification key is there already. A new notification
        of an incident ``prune`` set aside brings the incident's tombstone back first."""
        ...

    def mark_weighed(self, region: str, notification: str) -> None:
        """A decision weighed it: a later redelivery changes nothing and is dropped."""
        ...

    def list(self, region: str) -> list[RegionHealthSignal]: ...

    def prune(self, region: str, stored_before: datetime) -> int:
        """Set aside the incidents of ``region`` closed before ``stored_before`` (``lib.autopilot.retention``):
        keep each one's last resolve as a tombstone, drop its other signals. The number of signals dropped."""
        ...


class DecisionStore(Protocol):
    def add(self, record: DecisionRecord, once: Sequence[str] = ()) -> frozenset[str]:
        """Store ``record``; ``once``: keys it claims (create-only, with the record, all or nothing). The answer
        is the keys an earlier record holds already: when it is not empty, nothing was stored."""
        ...

    def list(self, region: str | None, since: datetime | None, limit: int) -> list[DecisionRecord]:
        """Newest first; ``region`` None: every region."""
        ...

    def latest(self, region: str) -> DecisionRecord | None: ...
