"""Where a region stands, from the signals seen for it: which incidents are active, since when, from which
sources. Ordered by event time, never by arrival: a late resolve older than the latest active leaves the incident
active, and a late active older than the latest resolve leaves it resolved. The answer does not depend on the
order (or the repetition) of the signals given.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from lib.signals import RegionHealthSignal, SignalState

__all__ = ["IncidentState", "RegionState", "event_order", "region_state"]


@dataclass(frozen=True)
class IncidentState:
    incident: str
    source: str
    active: bool
    since: datetime  # active: the start of the current active streak; resolved: when it was resolved


@dataclass(frozen=True)
class RegionState:
    incidents: tuple[IncidentState, ...]  # those that concern the region, sorted by key
    left_out: tuple[str, ...]  # why other incidents were not weighed

    @property
    def active(self) -> tuple[IncidentState, ...]:
        return tuple(i for i in self.incidents if i.active)

    @property
    def sources(self) -> tuple[str, ...]:
        """The distinct sources reporting the region down: the quorum counts these."""
        return tuple(sorted({i.source for i in self.active}))

    @property
    def incident(self) -> str | None:
        """The incident a decision is about: the active one that started first (ties: by key)."""
        first = min(self.active, key=lambda i: (i.since, i.incident), default=None)
        return first.incident if first else None

    def quorum_at(self, min_sources: int) -> datetime | None:
        """When ``min_sources`` distinct sources were first all (and still) active; None when fewer are."""
        since: dict[str, datetime] = {}
        for i in self.active:
            since[i.source] = min(i.since, since.get(i.source, i.since))
        times = sorted(since.values())
        return times[min_sources - 1] if len(times) >= min_sources else None


def region_state(
    signals: Iterable[RegionHealthSignal], region: str, services: Sequence[str], include_maintenance: bool
) -> RegionState:
    """The state of ``region`` for a workload depending on ``services``. An incident is weighed when one of
    its signals concerns the region (and is not maintenance the policy leaves out); its state then comes from
    those signals and from its signals that name no region at all (a resolve without its regions still
    resolves it), never from its signals about other regions only (Service Health resolves a tracking id region
    by region)."""
    # No dedupe needed here: a repeated signal changes neither an incident's latest state nor its streak start.
    by_incident: dict[str, list[RegionHealthSignal]] = {}
    for signal in signals:
        by_incident.setdefault(signal.incident, []).append(signal)
    weighed: list[IncidentState] = []
    left_out: list[str] = []
    for key in sorted(by_incident):
        group = sorted(by_incident[key], key=event_order)
        why_not = _left_out(group, region, services, include_maintenance)
        if why_not:
            left_out.append(why_not)
        else:
            weighed.append(_incident_state([s for s in group if _about(s, region, services)]))
    return RegionState(tuple(weighed), tuple(left_out))


def event_order(signal: RegionHealthSignal) -> tuple[datetime, int, str]:
    # At one instant a resolve counts as later than an active (the cautious reading); the notification key
    # breaks any remaining tie, so the order the signals arrived in never matters.
    return (signal.at, 1 if signal.state is SignalState.RESOLVED else 0, signal.notification)


def _left_out(group: Sequence[RegionHealthSignal], region: str, services: Sequence[str], maintenance: bool) -> str:
    incident = group[0].incident
    concerning = [s for s in group if s.concerns(region, services)]
    if not concerning:
        return f"{incident} does not concern {region} for the services the policy watches"
    if not maintenance and all(s.maintenance for s in concerning):
        return f"{incident} is planned maintenance, and includeMaintenance is false"
    return ""


def _about(signal: RegionHealthSignal, region: str, services: Sequence[str]) -> bool:
    names_a_region = bool(signal.regions) or any(i.regions for i in signal.impacts)
    return signal.concerns(region, services) or not names_a_region


def _incident_state(group: Sequence[RegionHealthSignal]) -> IncidentState:
    latest = group[-1]
    if not latest.active:
        return IncidentState(latest.incident, latest.source.value, False, latest.at)
    resolved = [i for i, s in enumerate(group) if not s.active]
    streak = group[resolved[-1] + 1 :] if resolved else group
    return IncidentState(latest.incident, latest.source.value, True, streak[0].at)
