"""Our own custom-topic event, for signals from anything we do not read natively (a synthetic monitor, another
team's tooling, an operator's script). Publish it to an Event Grid custom topic in either schema::

    {"id": "<unique per notification>", "eventType" | "type": "Autopilot.RegionHealth",
     "eventTime" | "time": "<ISO-8601>", "subject": "<free>", ("specversion": "1.0" for CloudEvents),
     "data": {
        "region": "eastus" | "East US",        # or "regions": [...]; ARM or display names; "Global" = every region
        "state": "active" | "resolved",
        "incident": "<your incident key>",      # notifications of one incident share it
        "services": ["Virtual Machines"],       # optional: what is impacted (checked against the policy's services)
        "maintenance": false,                   # optional: planned work, acted on only if the policy opts in
        "title": "<free text>",                 # optional
        "at": "<ISO-8601>",                     # optional: when it happened (default: the event's time)
        "test": false}}                         # optional: true = a test, never acted on

A redelivery keeps its ``id``; a new notification gets a new one. A malformed event raises SignalParseError
naming the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from lib.signals.fields import flag, items, parse_time, text
from lib.signals.model import (
    Classified,
    IgnoreCode,
    Ignored,
    Impact,
    RegionHealthSignal,
    SignalParseError,
    SignalState,
    Source,
)
from lib.signals.regions import arm_region

__all__ = ["CUSTOM_EVENT_TYPE", "from_custom_event"]

CUSTOM_EVENT_TYPE = "Autopilot.RegionHealth"


def from_custom_event(
    event_id: str, event_time: datetime | None, data: Mapping[str, object], raw: Mapping[str, object]
) -> Classified:
    source = Source.CUSTOM
    key = f"{source.value}:{event_id}"
    if flag(data.get("test")):
        return Ignored("a custom event marked as a test", IgnoreCode.SYNTHETIC, source, key)
    state = _state(data)
    incident = text(data.get("incident"))
    if incident is None:
        raise SignalParseError("data.incident", "missing: notifications of one incident share this key")
    regions = _regions(data)
    moment = parse_time(data.get("at")) or event_time
    if moment is None:
        raise SignalParseError("data.at", "missing or not an ISO-8601 time (and the event has no time)")
    services = tuple(dict.fromkeys(s for s in (text(x) for x in items(data.get("services"))) if s))
    return RegionHealthSignal(
        source=source,
        incident=f"{source.value}:{incident}",
        notification=key,
        state=state,
        at=moment,
        regions=regions,
        impacts=tuple(Impact(s, regions) for s in services),
        maintenance=flag(data.get("maintenance")),
        stage=state.value,
        title=text(data.get("title")) or "",
        raw=raw,
    )


def _state(data: Mapping[str, object]) -> SignalState:
    word = (text(data.get("state")) or "").casefold()
    try:
        return SignalState(word)
    except ValueError:
        raise SignalParseError("data.state", f"{data.get('state')!r} is neither 'active' nor 'resolved'") from None


def _regions(data: Mapping[str, object]) -> tuple[str, ...]:
    listed = items(data.get("regions")) or (data.get("region"),)
    found = [arm_region(x) for x in listed]
    regions = tuple(dict.fromkeys(r for r in found if r))
    if not regions or None in found:
        raise SignalParseError("data.region", f"{listed!r}: every region must be an ARM or display name")
    return regions
