"""Service Health and Resource Health notifications: activity-log records, read the same way whether they come
wrapped in the common alert schema (``data.alertContext``) or in the legacy webhook (``data.context.activityLog``).

Activity-log alerts are stateless: ``monitorCondition`` is always ``Fired``, so it is never read here. Service
Health says active or resolved in ``properties.stage`` (then ``status``); Resource Health in ``status``, the
``healthevent/<verb>/action`` of ``operationName`` and ``properties.currentHealthStatus``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from lib.signals.fields import digest, flag, mapping, parse_time, text, word
from lib.signals.model import Classified, IgnoreCode, Ignored, RegionHealthSignal, SignalParseError, SignalState, Source
from lib.signals.services import impacts_from

__all__ = ["Envelope", "resource_health", "service_health", "synthetic_rule"]

ACTIVE, RESOLVED = SignalState.ACTIVE, SignalState.RESOLVED

# "Test action group" sends fixed sample payloads whose rule is named test-<kind>AlertRule (test-metricAlertRule,
# test-ServiceHealthAlertRule, ...); only Service Health's also says IsSynthetic / TEST-TTT.
_TEST_RULE = re.compile(r"test-[a-z]*alertrule", re.IGNORECASE)
_TEST_TRACKING_ID = "test-ttt"

_INCIDENT_STAGES = {"active": ACTIVE, "resolved": RESOLVED, "rca": RESOLVED}
_MAINTENANCE_STAGES = {
    "planned": ACTIVE,
    "active": ACTIVE,
    "inprogress": ACTIVE,
    "rescheduled": ACTIVE,
    "canceled": RESOLVED,
    "cancelled": RESOLVED,
    "resolved": RESOLVED,
    "complete": RESOLVED,
    "completed": RESOLVED,
}
_STATUS = {"active": ACTIVE, "resolved": RESOLVED}
_RH_ACTIVE_WORDS = frozenset({"active", "activated", "inprogress", "updated", "pending"})
_RH_VERB = re.compile(r"healthevent/([a-z]+)/action", re.IGNORECASE)


@dataclass(frozen=True)
class Envelope:
    """What the wrapper around an activity-log record adds: the rule, the alert ids, the targets, the body."""

    raw: Mapping[str, object]
    alert_rule: str | None = None
    origin_alert_id: str | None = None
    targets: tuple[str, ...] = ()
    fired_at: datetime | None = None


def synthetic_rule(envelope: Envelope) -> bool:
    return envelope.alert_rule is not None and _TEST_RULE.fullmatch(envelope.alert_rule) is not None


def _notification(source: Source, record: Mapping[str, object], envelope: Envelope) -> str:
    # eventDataId is the activity-log event's own id: the same in every rule and action group that forwards it.
    key = text(record.get("eventDataId")) or envelope.origin_alert_id or digest(record)
    return f"{source.value}:{key}"


def _event_time(record: Mapping[str, object], envelope: Envelope, source: Source) -> datetime:
    moment = parse_time(record.get("eventTimestamp")) or parse_time(record.get("submissionTimestamp"))
    moment = moment or envelope.fired_at
    if moment is None:
        raise SignalParseError("eventTimestamp", f"a {source.value} notification without a readable time")
    return moment


def service_health(record: Mapping[str, object], envelope: Envelope) -> Classified:
    source = Source.SERVICE_HEALTH
    props = mapping(record.get("properties"))
    key = _notification(source, record, envelope)
    if _synthetic_service_health(props, envelope):
        why = "an action group's test notification (IsSynthetic / TEST-TTT)"
        return Ignored(why, IgnoreCode.SYNTHETIC, source, key)
    kind = word(props.get("incidentType")) or _kind_from_operation(record)
    if kind not in ("incident", "maintenance"):
        reason = f"incidentType {text(props.get('incidentType'))!r}: only incidents (and maintenance) signal outages"
        return Ignored(reason, IgnoreCode.NOT_INCIDENT, source, key)
    stages = _MAINTENANCE_STAGES if kind == "maintenance" else _INCIDENT_STAGES
    state = stages.get(word(props.get("stage"))) or _STATUS.get(word(record.get("status")))
    if state is None:
        stage, status = text(props.get("stage")), text(record.get("status"))
        reason = f"stage {stage!r} / status {status!r} say neither active nor resolved"
        return Ignored(reason, IgnoreCode.UNKNOWN_STATE, source, key)
    tracking = text(props.get("trackingId"))
    if tracking is None:
        raise SignalParseError("properties.trackingId", "missing: the incident this notification belongs to")
    impacts = impacts_from(props)
    regions = tuple(dict.fromkeys(r for i in impacts for r in i.regions))
    if not regions:
        return Ignored("no impacted region in impactedServices or region", IgnoreCode.NO_REGION, source, key)
    return RegionHealthSignal(
        source=source,
        incident=f"{source.value}:{tracking}",
        notification=key,
        state=state,
        at=_event_time(record, envelope, source),
        regions=regions,
        impacts=impacts,
        maintenance=kind == "maintenance",
        stage=text(props.get("stage")) or text(record.get("status")),
        title=text(props.get("title")) or "",
        raw=envelope.raw,
    )


def _synthetic_service_health(props: Mapping[str, object], envelope: Envelope) -> bool:
    marked = flag(props.get("IsSynthetic")) or flag(props.get("isSynthetic"))
    return marked or word(props.get("trackingId")) == _TEST_TRACKING_ID or synthetic_rule(envelope)


def _kind_from_operation(record: Mapping[str, object]) -> str:
    # incidentType is the documented field; the operation (Microsoft.ServiceHealth/<kind>/action) is a fallback.
    parts = word(record.get("operationName")).split("/")
    return parts[1] if len(parts) == 3 else ""


def resource_health(record: Mapping[str, object], envelope: Envelope) -> Classified:
    source = Source.RESOURCE_HEALTH
    props = mapping(record.get("properties"))
    key = _notification(source, record, envelope)
    if synthetic_rule(envelope):
        return Ignored("an action group's test notification (test alert rule)", IgnoreCode.SYNTHETIC, source, key)
    if word(props.get("cause")) == "userinitiated":
        return Ignored("cause UserInitiated: stopped or restarted on purpose", IgnoreCode.USER_INITIATED, source, key)
    health = text(props.get("currentHealthStatus"))
    if word(health) == "unknown":
        why = "currentHealthStatus Unknown: the health most likely did not change"
        return Ignored(why, IgnoreCode.UNKNOWN_HEALTH, source, key)
    state = _resource_state(record, word(health))
    if state is None:
        status, operation = text(record.get("status")), text(record.get("operationName"))
        reason = f"status {status!r} / {operation!r} say neither active nor resolved"
        return Ignored(reason, IgnoreCode.UNKNOWN_STATE, source, key)
    resource = text(record.get("resourceId")) or (envelope.targets[0] if envelope.targets else None)
    if resource is None:
        raise SignalParseError("alertTargetIDs", "missing: the resource this Resource Health alert is about")
    return RegionHealthSignal(
        source=source,
        incident=f"{source.value}:{resource.casefold()}",
        notification=key,
        state=state,
        at=_event_time(record, envelope, source),
        resource_id=resource,
        health=health,
        stage=text(record.get("status")),
        title=text(props.get("title")) or "",
        raw=envelope.raw,
    )


def _resource_state(record: Mapping[str, object], health: str) -> SignalState | None:
    status = word(record.get("status"))
    found = _RH_VERB.search(word(record.get("operationName")))
    verb = found.group(1) if found else ""
    if "resolved" in (status, verb) or health == "available":
        return RESOLVED
    # Updated events may carry null health and cause: the event is still open, so it stays active.
    if (status in _RH_ACTIVE_WORDS or verb in _RH_ACTIVE_WORDS) and health in ("", "unavailable", "degraded"):
        return ACTIVE
    return None
