"""Event Grid deliveries, one event at a time, in the Event Grid schema or CloudEvents 1.0.

Health comes from the ``Microsoft.ResourceNotifications.HealthResources`` system topic (availability changes and
annotations of VMs; no region in the payload, so the signal names the resource) and from our own custom-topic
event ``Autopilot.RegionHealth`` (see ``custom``). Event Grid delivers at least once and in any order: the
notification key is the event ``id``, and ``at`` is the resource's own event time for ordering.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from lib.signals.custom import CUSTOM_EVENT_TYPE, from_custom_event
from lib.signals.fields import at, digest, mapping, parse_time, text, word
from lib.signals.model import Classified, IgnoreCode, Ignored, RegionHealthSignal, SignalParseError, SignalState, Source

__all__ = ["ANNOTATED", "AVAILABILITY_STATUS_CHANGED", "from_event_grid_event"]

AVAILABILITY_STATUS_CHANGED = "Microsoft.ResourceNotifications.HealthResources.AvailabilityStatusChanged"
ANNOTATED = "Microsoft.ResourceNotifications.HealthResources.ResourceAnnotated"

_AVAILABILITY = {
    "unavailable": SignalState.ACTIVE,
    "degraded": SignalState.ACTIVE,
    "available": SignalState.RESOLVED,
}


@dataclass(frozen=True)
class _Event:
    id: str
    type: str
    time: datetime | None
    subject: str | None
    data: Mapping[str, object]
    raw: Mapping[str, object]


def from_event_grid_event(event: object) -> Classified:
    """Classify one event (an element of the delivered array, or one CloudEvent). Raises SignalParseError when
    it cannot be read (not an object, or a known event without its id or resource): log it and go on."""
    if not isinstance(event, Mapping):
        raise SignalParseError("event", "must be a JSON object (one element of the delivered batch)")
    envelope = _envelope(event)
    if envelope is None:
        why = "neither an Event Grid event (eventType) nor a CloudEvent (specversion, type)"
        return Ignored(why, IgnoreCode.UNKNOWN_SCHEMA, None, f"unknown:{digest(event)}")
    if envelope.type.casefold() == AVAILABILITY_STATUS_CHANGED.casefold():
        return _availability(envelope)
    if envelope.type.casefold() == ANNOTATED.casefold():
        return _annotation(envelope)
    if envelope.type == CUSTOM_EVENT_TYPE:
        return from_custom_event(envelope.id, envelope.time, envelope.data, envelope.raw)
    why = f"event type {envelope.type!r} is not a health signal"
    return Ignored(why, IgnoreCode.NOT_HEALTH, None, f"eventgrid:{envelope.id}")


def _envelope(event: Mapping[str, object]) -> _Event | None:
    cloud = "specversion" in event
    kind = text(event.get("type" if cloud else "eventType"))
    if kind is None:
        return None
    event_id = text(event.get("id"))
    if event_id is None:
        raise SignalParseError("id", "missing: every Event Grid event and CloudEvent has one")
    return _Event(
        id=event_id,
        type=kind,
        time=parse_time(event.get("time" if cloud else "eventTime")),
        subject=text(event.get("subject")),
        data=mapping(event.get("data")),
        raw=event,
    )


def _resource(event: _Event) -> tuple[Mapping[str, object], str]:
    props = mapping(at(event.data, "resourceInfo", "properties"))
    resource = text(props.get("targetResourceId")) or event.subject
    if resource is None:
        raise SignalParseError("data.resourceInfo.properties.targetResourceId", "missing: the resource concerned")
    return props, resource


def _time(event: _Event, props: Mapping[str, object]) -> datetime:
    moment = parse_time(props.get("occurredTime")) or parse_time(at(event.data, "operationalInfo", "resourceEventTime"))
    moment = moment or event.time
    if moment is None:
        raise SignalParseError("data.resourceInfo.properties.occurredTime", "missing or not an ISO-8601 time")
    return moment


def _availability(event: _Event) -> Classified:
    source = Source.HEALTH_RESOURCES
    props, resource = _resource(event)
    key = f"{source.value}:{event.id}"
    health = text(props.get("availabilityState"))
    word = (health or "").casefold()
    if word == "unknown":
        why = "availabilityState Unknown: the health most likely did not change"
        return Ignored(why, IgnoreCode.UNKNOWN_HEALTH, source, key)
    state = _AVAILABILITY.get(word)
    if state is None:
        return Ignored(f"availabilityState {health!r} is not a known state", IgnoreCode.UNKNOWN_STATE, source, key)
    previous = text(props.get("previousAvailabilityState"))
    return _signal(event, resource, state, health=health, stage=f"{previous} -> {health}", moment=_time(event, props))


def _annotation(event: _Event) -> Classified:
    """An annotation explains a change; only the platform's unplanned ones (an outage) and planned ones
    (maintenance, flagged) count. The next availability change of the same resource resolves the incident."""
    source = Source.HEALTH_RESOURCES
    props, resource = _resource(event)
    key = f"{source.value}:{event.id}"
    context = word(props.get("context"))
    if context in ("customerinitiated", "userinitiated"):
        why = f"annotation {text(props.get('annotationName'))!r} is customer initiated"
        return Ignored(why, IgnoreCode.USER_INITIATED, source, key)
    category = word(props.get("category"))
    if category not in ("unplanned", "planned"):
        why = f"annotation category {text(props.get('category'))!r} reports no outage"
        return Ignored(why, IgnoreCode.NOT_HEALTH, source, key)
    name = text(props.get("annotationName"))
    return _signal(
        event,
        resource,
        SignalState.ACTIVE,
        maintenance=category == "planned",
        stage=name,
        moment=_time(event, props),
        title=text(props.get("summary")) or name or "",
    )


def _signal(
    event: _Event,
    resource: str,
    state: SignalState,
    *,
    moment: datetime,
    health: str | None = None,
    stage: str | None = None,
    maintenance: bool = False,
    title: str = "",
) -> RegionHealthSignal:
    source = Source.HEALTH_RESOURCES
    return RegionHealthSignal(
        source=source,
        incident=f"{source.value}:{resource.casefold()}",
        notification=f"{source.value}:{event.id}",
        state=state,
        at=moment,
        resource_id=resource,
        maintenance=maintenance,
        health=health,
        stage=stage,
        title=title,
        raw=event.raw,
    )
