"""Properties over arbitrary and mutated payloads: classification never raises anything but SignalParseError,
and a duplicate delivery (the same payload again, its keys in any order) gives the same keys and outcome."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import timedelta, timezone
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lib.signals import (
    EVERY_REGION,
    Classified,
    Ignored,
    RegionHealthSignal,
    SignalParseError,
    arm_region,
    from_alert_webhook,
    from_event_grid_event,
)
from lib.signals.fields import parse_time
from tests.unit.signals.fixtures import all_names, load

# Field names the classifiers read, so random objects reach past the first branch now and then.
_KEYS = [
    "schemaId",
    "data",
    "essentials",
    "alertContext",
    "context",
    "activityLog",
    "properties",
    "monitoringService",
    "signalType",
    "monitorCondition",
    "alertId",
    "alertRule",
    "alertTargetIDs",
    "firedDateTime",
    "resolvedDateTime",
    "operationName",
    "eventSource",
    "eventDataId",
    "eventTimestamp",
    "status",
    "stage",
    "incidentType",
    "trackingId",
    "impactedServices",
    "ServiceName",
    "ImpactedRegions",
    "RegionName",
    "region",
    "regions",
    "state",
    "incident",
    "cause",
    "currentHealthStatus",
    "id",
    "type",
    "eventType",
    "specversion",
    "time",
    "eventTime",
    "subject",
    "resourceInfo",
    "availabilityState",
    "targetResourceId",
    "occurredTime",
    "customProperties",
]
_WORDS = [
    "azureMonitorCommonAlertSchema",
    "Microsoft.Insights/activityLogs",
    "ServiceHealth",
    "Resource Health",
    "Platform",
    "Log Alerts V2",
    "Fired",
    "Resolved",
    "Active",
    "Incident",
    "Maintenance",
    "Unavailable",
    "Unknown",
    "East US",
    "Global",
    "2025-06-02T07:00:00Z",
    "9999-12-31T23:59:59-05:00",
    "Microsoft.ServiceHealth/incident/action",
    "Microsoft.Resourcehealth/healthevent/Activated/action",
    "Microsoft.ResourceNotifications.HealthResources.AvailabilityStatusChanged",
    "Microsoft.ResourceNotifications.HealthResources.ResourceAnnotated",
    "Autopilot.RegionHealth",
    "1.0",
    "[{",
]

# ISO-8601 times at any offset, extremes included (Hypothesis favours the year 1 and 9999 edges).
iso_times = st.builds(
    lambda moment, hours: moment.replace(tzinfo=timezone(timedelta(hours=hours))).isoformat(),
    st.datetimes(),
    st.integers(min_value=-23, max_value=23),
)
scalars = (
    iso_times | st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12) | st.sampled_from(_WORDS)
)
keys = st.sampled_from(_KEYS) | st.text(max_size=8)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=6),
    max_leaves=40,
)

Entry = Callable[[Any], list[Classified]]


def _webhook(body: Any) -> list[Classified]:
    return from_alert_webhook(body)


def _event_grid(body: Any) -> list[Classified]:
    return [from_event_grid_event(body)]


ENTRIES: list[Entry] = [_webhook, _event_grid]


def _classify_or_parse_error(entry: Entry, body: Any) -> list[Classified] | SignalParseError:
    try:
        results = entry(body)
    except SignalParseError as exc:
        assert exc.field and exc.reason
        return exc
    for result in results:
        _check_result(result)
    return results


def _check_result(result: Classified) -> None:
    if isinstance(result, Ignored):
        assert result.reason
        return
    assert isinstance(result, RegionHealthSignal)
    assert result.incident and result.notification
    assert result.regions or result.resource_id, "a signal names a region or the resource to find it from"
    assert all(r == EVERY_REGION or arm_region(r) == r for r in result.regions)
    assert RegionHealthSignal.from_json(json.loads(json.dumps(result.to_json(), default=str))).notification == (
        result.notification
    )


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(body=json_values, wrapped=st.booleans())
def test_arbitrary_json_raises_nothing_but_signal_parse_error(body: Any, wrapped: bool) -> None:
    if wrapped:  # one level of the real envelope, so the inner readers see arbitrary JSON too
        body = {"schemaId": "azureMonitorCommonAlertSchema", "data": body}
    for entry in ENTRIES:
        _classify_or_parse_error(entry, body)


@given(value=iso_times | st.text() | scalars)
def test_reading_a_time_never_raises(value: Any) -> None:
    moment = parse_time(value)
    assert moment is None or moment.utcoffset() == timedelta(0)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, inner in value.items():
            found += _paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += _paths(inner, (*prefix, index))
    return found


def _replace(body: Any, path: tuple[Any, ...], value: Any, delete: bool) -> Any:
    if not path:
        return value
    body = copy.deepcopy(body)
    parent = body
    for step in path[:-1]:
        parent = parent[step]
    if delete and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return body


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), name=st.sampled_from(all_names()))
def test_mutated_fixtures_raise_nothing_but_signal_parse_error(data: st.DataObject, name: str) -> None:
    body = load(name)
    path = data.draw(st.sampled_from(_paths(body)), label="path")
    value = data.draw(json_values, label="value")
    mutated = _replace(body, path, value, delete=data.draw(st.booleans(), label="delete"))
    for entry in ENTRIES:
        _classify_or_parse_error(entry, mutated)


def _reorder(value: Any, seed: int) -> Any:
    """The same JSON with every object's keys in another order (a redelivery need not keep the order)."""
    if isinstance(value, dict):
        names = list(value)
        shift = seed % len(names) if names else 0
        names = names[shift:] + names[:shift]
        return {k: _reorder(value[k], seed + 1) for k in reversed(names)}
    if isinstance(value, list):
        return [_reorder(v, seed + 1) for v in value]
    return value


def _keys(result: list[Classified] | SignalParseError) -> Any:
    if isinstance(result, SignalParseError):
        return ("error", result.field)
    out: list[Any] = []
    for r in result:
        if isinstance(r, Ignored):
            out.append(("ignored", r.code, r.notification_key))
        else:
            out.append((r.source, r.incident, r.notification, r.state, r.regions, r.resource_id, r.at))
    return out


@settings(max_examples=200)
@given(name=st.sampled_from(all_names()), seed=st.integers(min_value=0, max_value=1000), data=st.data())
def test_duplicate_deliveries_give_identical_keys(name: str, seed: int, data: st.DataObject) -> None:
    body = load(name)
    path = data.draw(st.sampled_from(_paths(body)), label="path")
    value = data.draw(json_values, label="value")
    mutated = _replace(body, path, value, delete=False) if data.draw(st.booleans(), label="mutate") else body
    for entry in ENTRIES:
        first = _classify_or_parse_error(entry, mutated)
        again = _classify_or_parse_error(entry, json.loads(json.dumps(_reorder(mutated, seed))))
        assert _keys(first) == _keys(again)


def test_the_mutation_test_reaches_signals() -> None:
    # Guards the properties above against vacuity: the fixtures they mutate do classify into signals.
    signals = [
        r
        for name in all_names()
        for entry in ENTRIES
        if not isinstance(res := _classify_or_parse_error(entry, load(name)), SignalParseError)
        for r in res
        if isinstance(r, RegionHealthSignal)
    ]
    assert len(signals) >= 12
