"""Which stored signals an evaluation no longer needs: those of incidents resolved long ago. Pure.

An incident whose latest signal (in event order, as the guard reads them) is a resolve, and whose signals were all
stored before the retention horizon, is closed: nothing it says can change a decision again, except a late
notification of it. So the store keeps the incident's latest signal aside (a tombstone, out of the region's
partition) and drops the rest; a late notification of that incident brings the tombstone back, and the guard
then reads the incident exactly as before (a late "active" older than the resolve leaves it resolved). The
decisions keep their reasons, sources and incidents whatever is pruned here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from lib.guard.state import event_order
from lib.signals import RegionHealthSignal

__all__ = ["Closed", "closed_incidents"]


@dataclass(frozen=True)
class Closed:
    incident: str
    last: RegionHealthSignal  # the resolve kept as the incident's tombstone
    notifications: tuple[str, ...]  # every stored notification of the incident in the region, ``last``'s too


def closed_incidents(rows: Iterable[tuple[RegionHealthSignal, datetime | None]], horizon: datetime) -> list[Closed]:
    """``rows``: each stored signal of a region with when it was stored (None: unknown, so kept)."""
    by_incident: dict[str, list[tuple[RegionHealthSignal, datetime | None]]] = {}
    for signal, stored_at in rows:
        by_incident.setdefault(signal.incident, []).append((signal, stored_at))
    closed = []
    for incident, group in sorted(by_incident.items()):
        last = max((s for s, _ in group), key=event_order)
        if last.active or any(at is None or at >= horizon for _, at in group):
            continue
        closed.append(Closed(incident, last, tuple(sorted(s.notification for s, _ in group))))
    return closed
