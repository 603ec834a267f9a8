"""The Azure Monitor action-group webhook: the common alert schema and the legacy activity-log schema.

Which fields say "active" depends on the source: metric and log alerts are stateful (``monitorCondition`` Fired /
Resolved, the same ``alertId`` for both); Service Health and Resource Health are activity-log alerts, always
``Fired``, read in ``activity``. Other activity-log alerts (administrative, policy, autoscale, security) record
operations, not health, and are ignored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from lib.signals.activity import Envelope, resource_health, service_health, synthetic_rule
from lib.signals.fields import at, digest, items, mapping, parse_time, text, word
from lib.signals.model import Classified, IgnoreCode, Ignored, RegionHealthSignal, SignalParseError, SignalState, Source
from lib.signals.regions import arm_region

__all__ = ["COMMON_SCHEMA", "LEGACY_ACTIVITY_LOG_SCHEMA", "from_alert_webhook"]

COMMON_SCHEMA = "azureMonitorCommonAlertSchema"
LEGACY_ACTIVITY_LOG_SCHEMA = "Microsoft.Insights/activityLogs"

_LOG_SERVICES = frozenset({"logalertsv2", "loganalytics", "applicationinsights"})
_CONDITIONS = {"fired": SignalState.ACTIVE, "resolved": SignalState.RESOLVED}

_Reader = Callable[[Mapping[str, object], Envelope], Classified]


def from_alert_webhook(body: object) -> list[Classified]:
    """Classify one action-group webhook body. The list holds one entry per notification in the body (one for
    both schemas today). Raises SignalParseError when the body cannot be read (the webhook answers 400)."""
    if not isinstance(body, Mapping):
        raise SignalParseError("body", "must be a JSON object")
    schema = (text(body.get("schemaId")) or "").casefold()
    if schema == COMMON_SCHEMA.casefold():
        return [_common(body)]
    if schema == LEGACY_ACTIVITY_LOG_SCHEMA.casefold():
        return [_legacy(body)]
    why = f"schemaId {text(body.get('schemaId'))!r} is neither the common alert schema nor the activity-log one"
    return [Ignored(why, IgnoreCode.UNKNOWN_SCHEMA, None, f"unknown:{digest(body)}")]


def _object(value: object, name: str) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise SignalParseError(name, "missing or not a JSON object")
    return value


def _common(body: Mapping[str, object]) -> Classified:
    data = _object(body.get("data"), "data")
    essentials = _object(data.get("essentials"), "data.essentials")
    context = mapping(data.get("alertContext"))
    envelope = Envelope(
        raw=body,
        alert_rule=text(essentials.get("alertRule")),
        origin_alert_id=text(essentials.get("originAlertId")),
        targets=tuple(t for t in (text(x) for x in items(essentials.get("alertTargetIDs"))) if t),
        fired_at=parse_time(essentials.get("firedDateTime")),
    )
    reader = _common_reader(essentials, context)
    if reader is not None:
        return reader(context, envelope)
    service = text(essentials.get("monitoringService"))
    key = f"unknown:{text(essentials.get('alertId')) or digest(body)}"
    if synthetic_rule(envelope):
        return Ignored(f"an action group's test notification ({service})", IgnoreCode.SYNTHETIC, None, key)
    return Ignored(f"monitoringService {service!r} does not report health", IgnoreCode.NOT_HEALTH, None, key)


def _common_reader(essentials: Mapping[str, object], context: Mapping[str, object]) -> _Reader | None:
    service, signal_type = word(essentials.get("monitoringService")), word(essentials.get("signalType"))
    operation = (text(context.get("operationName")) or "").casefold()
    if service == "servicehealth" or operation.startswith("microsoft.servicehealth/"):
        return service_health
    if service == "resourcehealth" or word(context.get("eventSource")) == "resourcehealth":
        return resource_health
    if service == "platform" or signal_type == "metric":
        return _stateful(Source.METRIC, essentials)
    if service in _LOG_SERVICES or signal_type == "log":
        return _stateful(Source.LOG, essentials)
    return None


def _stateful(source: Source, essentials: Mapping[str, object]) -> _Reader:
    def read(context: Mapping[str, object], envelope: Envelope) -> Classified:
        return _metric_or_log(source, essentials, envelope)

    return read


def _metric_or_log(source: Source, essentials: Mapping[str, object], envelope: Envelope) -> Classified:
    alert_id = text(essentials.get("alertId"))
    if alert_id is None:
        raise SignalParseError("data.essentials.alertId", "missing: the alert instance this notification is about")
    condition = text(essentials.get("monitorCondition"))
    key = f"{source.value}:{alert_id}|{(condition or '').casefold()}"
    if synthetic_rule(envelope):
        return Ignored(
            f"an action group's test notification ({envelope.alert_rule})", IgnoreCode.SYNTHETIC, source, key
        )
    state = _CONDITIONS.get((condition or "").casefold())
    if state is None:
        return Ignored(
            f"monitorCondition {condition!r} is neither Fired nor Resolved", IgnoreCode.UNKNOWN_STATE, source, key
        )
    region = arm_region(at(envelope.raw, "data", "customProperties", "region"))
    resource = envelope.targets[0] if envelope.targets else None
    if region is None and resource is None:
        return Ignored("no target resource and no customProperties.region", IgnoreCode.NO_REGION, source, key)
    resolved_at = parse_time(essentials.get("resolvedDateTime"))
    moment = (resolved_at if state is SignalState.RESOLVED else None) or envelope.fired_at or resolved_at
    if moment is None:
        raise SignalParseError("data.essentials.firedDateTime", "missing or not an ISO-8601 time")
    return RegionHealthSignal(
        source=source,
        incident=f"{source.value}:{alert_id}",
        notification=key,
        state=state,
        at=moment,
        regions=(region,) if region else (),
        resource_id=resource,
        stage=condition,
        title=envelope.alert_rule or "",
        raw=envelope.raw,
    )


def _legacy(body: Mapping[str, object]) -> Classified:
    data = _object(body.get("data"), "data")
    record = _object(at(data, "context", "activityLog"), "data.context.activityLog")
    envelope = Envelope(raw=body, targets=tuple(t for t in (text(record.get("resourceId")),) if t))
    operation = (text(record.get("operationName")) or "").casefold()
    event_source = word(record.get("eventSource"))
    if operation.startswith("microsoft.servicehealth/") or event_source == "servicehealth":
        return service_health(record, envelope)
    if operation.startswith("microsoft.resourcehealth/") or event_source == "resourcehealth":
        return resource_health(record, envelope)
    key = f"unknown:{text(record.get('eventDataId')) or digest(body)}"
    why = f"activity-log event from {text(record.get('eventSource'))!r} records an operation, not health"
    return Ignored(why, IgnoreCode.NOT_HEALTH, None, key)
