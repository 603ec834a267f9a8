"""Every payload in tests/fixtures/events is classified as expected, through the transport that delivers it.

A fixture without a row fails the suite: adding a sample means deciding what it must become.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from lib.signals import (
    Classified,
    IgnoreCode,
    Ignored,
    RegionHealthSignal,
    SignalParseError,
    Source,
    from_alert_webhook,
    from_event_grid_event,
)
from tests.unit.signals.fixtures import all_names, load, wrap_common

SH, RH, HR = Source.SERVICE_HEALTH, Source.RESOURCE_HEALTH, Source.HEALTH_RESOURCES
ACTIVE, RESOLVED = "active", "resolved"
WEBHOOK, EVENT_GRID = "webhook", "event-grid"
VM_TEMPLATE = (
    "/subscriptions/{subscription-id}/resourceGroups/{rg-name}/providers/Microsoft.Compute/virtualMachines/{vm-name}"
)
SUB = "/subscriptions/11111111-2222-3333-4444-555555555555"
WEB_1 = f"{SUB}/resourceGroups/app-rg/providers/Microsoft.Compute/virtualMachines/web-1"
METRIC_ALERT = (
    "/subscriptions/<subscription ID>/providers/Microsoft.AlertsManagement/alerts/aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e"
)
METRIC_VM = (
    "/subscriptions/<subscription ID>/resourcegroups/pipelinealertrg/providers/microsoft.compute/virtualmachines/"
)


@dataclass(frozen=True)
class Signal:
    source: Source
    state: str
    regions: tuple[str, ...] = ()
    resource: str | None = None
    incident: str | None = None
    notification: str | None = None
    maintenance: bool = False
    services: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Ignore:
    code: IgnoreCode
    source: Source | None = None
    notification: str | None = None


@dataclass(frozen=True)
class ParseError:
    field: str


Expected = Signal | Ignore | ParseError


@dataclass(frozen=True)
class Row:
    file: str
    transport: str
    expected: tuple[Expected, ...]  # one per event (an Event Grid array delivers several)
    wrap: str | None = None  # a published alertContext fragment: wrapped in a common-schema envelope first


ROWS: tuple[Row, ...] = (
    # --- Azure Monitor action-group webhook: common alert schema ---
    Row(
        "servicehealth-incident-active-eastus.json",
        WEBHOOK,
        (
            Signal(
                SH,
                ACTIVE,
                ("eastus",),
                incident="service-health:7K2Q-LP0",
                notification="service-health:0a1b2c3d-0000-4000-8000-000000000001",
                services=("Virtual Machines", "Storage"),
            ),
        ),
    ),
    Row(
        "servicehealth-incident-resolved-eastus.json",
        WEBHOOK,
        (
            Signal(
                SH,
                RESOLVED,
                ("eastus",),
                incident="service-health:7K2Q-LP0",
                notification="service-health:0a1b2c3d-0000-4000-8000-000000000002",
            ),
        ),
    ),
    Row(
        "servicehealth-incident-multiregion-array.json",
        WEBHOOK,
        (
            Signal(
                SH,
                ACTIVE,
                ("northeurope", "westeurope", "uksouth"),
                incident="service-health:9XZ1-ABC",
                services=("Azure Cosmos DB", "Virtual Network"),
            ),
        ),
    ),
    Row(
        "servicehealth-actionrequired.json",
        WEBHOOK,
        (Ignore(IgnoreCode.NOT_INCIDENT, SH, "service-health:0a1b2c3d-0000-4000-8000-000000000004"),),
    ),
    Row(
        "servicehealth-common-alert-schema-test-action.json",
        WEBHOOK,
        (Ignore(IgnoreCode.SYNTHETIC, SH, "service-health:eeeeeeee-4444-5555-6666-ffffffffffff"),),
    ),
    Row(
        "servicehealth-common-alert-schema-alertcontext-maintenance.json", WEBHOOK, (Ignore(IgnoreCode.UNKNOWN_SCHEMA),)
    ),
    Row(
        "servicehealth-common-alert-schema-alertcontext-maintenance.json",
        WEBHOOK,
        (
            Signal(
                SH,
                ACTIVE,
                ("eastus",),
                incident="service-health:<GUID>",
                maintenance=True,
                services=("Azure Synapse Analytics",),
            ),
        ),
        wrap="ServiceHealth",
    ),
    Row(
        "resourcehealth-platform-activated.json",
        WEBHOOK,
        (Signal(RH, ACTIVE, (), WEB_1.lower(), incident=f"resource-health:{WEB_1.casefold()}"),),
    ),
    Row("resourcehealth-updated-null-fields.json", WEBHOOK, (Signal(RH, ACTIVE, (), WEB_1.lower()),)),
    Row(
        "resourcehealth-resolved.json",
        WEBHOOK,
        (Signal(RH, RESOLVED, (), WEB_1.lower(), incident=f"resource-health:{WEB_1.casefold()}"),),
    ),
    Row("resourcehealth-unknown-health.json", WEBHOOK, (Ignore(IgnoreCode.UNKNOWN_HEALTH, RH),)),
    Row("resourcehealth-common-alert-schema-test-action.json", WEBHOOK, (Ignore(IgnoreCode.SYNTHETIC, RH),)),
    Row("resourcehealth-common-alert-schema-alertcontext.json", WEBHOOK, (Ignore(IgnoreCode.UNKNOWN_SCHEMA),)),
    Row(
        "resourcehealth-common-alert-schema-alertcontext.json",
        WEBHOOK,
        (Ignore(IgnoreCode.USER_INITIATED, RH, "resource-health:<GUID>"),),
        wrap="Resource Health",
    ),
    Row(
        "metric-common-alert-schema-resolved.json",
        WEBHOOK,
        (
            Signal(
                Source.METRIC,
                RESOLVED,
                (),
                f"{METRIC_VM}wcus-r2-gen2",
                incident=f"metric:{METRIC_ALERT}",
                notification=f"metric:{METRIC_ALERT}|resolved",
            ),
        ),
    ),
    Row(
        "metric-static-common-alert-schema-fired-test-action.json",
        WEBHOOK,
        (Ignore(IgnoreCode.SYNTHETIC, Source.METRIC),),
    ),
    Row(
        "metric-dynamic-common-alert-schema-fired-test-action.json",
        WEBHOOK,
        (Ignore(IgnoreCode.SYNTHETIC, Source.METRIC),),
    ),
    Row("activitylog-administrative-common-alert-schema-test-action.json", WEBHOOK, (Ignore(IgnoreCode.SYNTHETIC),)),
    Row(
        "log-alert-fired-customregion.json",
        WEBHOOK,
        (
            Signal(
                Source.LOG,
                ACTIVE,
                ("eastus",),
                f"{SUB}/resourcegroups/ops/providers/microsoft.operationalinsights/workspaces/ops-law",
                incident=f"log:{SUB}/providers/Microsoft.AlertsManagement/alerts/4a4a0000-0000-4000-8000-000000000001",
            ),
        ),
    ),
    # --- legacy activity-log webhook ---
    Row(
        "legacy-activitylog-servicehealth-incident.json",
        WEBHOOK,
        (
            Signal(
                SH,
                ACTIVE,
                ("australiaeast", "australiasoutheast"),
                incident="service-health:0NIH-U2O",
                notification="service-health:6e0f1a2b-0000-4000-8000-0000000000aa",
                services=("Virtual Machines",),
            ),
        ),
    ),
    # --- Event Grid: HealthResources, in both schemas ---
    Row(
        "eventgrid-healthresources-availabilitystatuschanged-eventgridschema.json",
        EVENT_GRID,
        (
            Signal(
                HR,
                RESOLVED,
                (),
                VM_TEMPLATE,
                incident=f"health-resources:{VM_TEMPLATE.casefold()}",
                notification="health-resources:1fb6fa94-d965-4306-abeq-4810f0774e97",
            ),
        ),
    ),
    Row(
        "eventgrid-healthresources-availabilitystatuschanged-cloudevent.json",
        EVENT_GRID,
        (Signal(HR, RESOLVED, (), VM_TEMPLATE, notification="health-resources:1fb6fa94-d965-4306-abeq-4810f0774e97"),),
    ),
    Row(
        "eventgrid-healthresources-resourceannotated-eventgridschema.json",
        EVENT_GRID,
        (Ignore(IgnoreCode.USER_INITIATED, HR, "health-resources:8945cf9b-e220-496e-ab4f-f3a239318995"),),
    ),
    Row(
        "eventgrid-healthresources-resourceannotated-cloudevent.json",
        EVENT_GRID,
        (Ignore(IgnoreCode.USER_INITIATED, HR, "health-resources:8945cf9b-e220-496e-ab4f-f3a239318995"),),
    ),
    Row(
        "cloudevents-healthresources-unavailable.json",
        EVENT_GRID,
        (
            Signal(
                HR,
                ACTIVE,
                (),
                WEB_1,
                incident=f"health-resources:{WEB_1.casefold()}",
                notification="health-resources:3d3d0000-0000-4000-8000-000000000001",
            ),
        ),
    ),
    Row(
        "cloudevents-healthresources-available.json",
        EVENT_GRID,
        (Signal(HR, RESOLVED, (), WEB_1, incident=f"health-resources:{WEB_1.casefold()}"),),
    ),
    # --- Event Grid: our custom event ---
    Row(
        "custom-regionhealth-eventgridschema.json",
        EVENT_GRID,
        (
            Signal(
                Source.CUSTOM,
                ACTIVE,
                ("eastus",),
                incident="custom:synthetic-eastus-2025-06-02",
                notification="custom:c0570000-0000-4000-8000-000000000001",
                services=("Virtual Machines",),
            ),
        ),
    ),
    Row(
        "custom-regionhealth-cloudevent-resolved.json",
        EVENT_GRID,
        (Signal(Source.CUSTOM, RESOLVED, ("eastus",), incident="custom:synthetic-eastus-2025-06-02"),),
    ),
    Row("custom-regionhealth-test.json", EVENT_GRID, (Ignore(IgnoreCode.SYNTHETIC, Source.CUSTOM),)),
    # --- Event Grid: envelopes that carry no health ---
    Row("eventgrid-schema-envelope-blobcreated.json", EVENT_GRID, (Ignore(IgnoreCode.NOT_HEALTH),)),
    Row("cloudevents-1.0-envelope-blobcreated.json", EVENT_GRID, (Ignore(IgnoreCode.NOT_HEALTH),)),
    Row("eventgrid-deadletter-event-eventgridschema.json", EVENT_GRID, (Ignore(IgnoreCode.NOT_HEALTH),)),
    Row("eventgrid-resources-createdorupdated-eventgridschema.json", EVENT_GRID, (Ignore(IgnoreCode.NOT_HEALTH),)),
    Row("eventgrid-resources-deleted-cloudevent.json", EVENT_GRID, (Ignore(IgnoreCode.NOT_HEALTH),)),
    Row("eventgrid-subscription-validation-event.json", EVENT_GRID, (Ignore(IgnoreCode.NOT_HEALTH),)),
    Row("eventgrid-subscription-validation-response.json", EVENT_GRID, (Ignore(IgnoreCode.UNKNOWN_SCHEMA),)),
    # --- the wrong transport: a webhook body that is an Event Grid array cannot be read (400) ---
    Row("eventgrid-subscription-validation-event.json", WEBHOOK, (ParseError("body"),)),
    Row("custom-regionhealth-eventgridschema.json", WEBHOOK, (Ignore(IgnoreCode.UNKNOWN_SCHEMA),)),
    Row("servicehealth-incident-active-eastus.json", EVENT_GRID, (Ignore(IgnoreCode.UNKNOWN_SCHEMA),)),
)


def _body(row: Row) -> Any:
    body = load(row.file)
    if row.wrap is not None:
        return wrap_common(body["alertContext"], row.wrap, "/subscriptions/0000/resourceGroups/rg/providers/x/y/vm")
    return body


def _classify(row: Row) -> list[Classified | SignalParseError]:
    body = _body(row)
    try:
        if row.transport == WEBHOOK:
            return list(from_alert_webhook(body))
        events = body if isinstance(body, list) else [body]
        return [from_event_grid_event(e) for e in events]
    except SignalParseError as exc:
        return [exc]


def _check(got: Classified | SignalParseError, want: Expected) -> None:
    if isinstance(want, ParseError):
        assert isinstance(got, SignalParseError), got
        assert got.field == want.field
    elif isinstance(want, Ignore):
        assert isinstance(got, Ignored), got
        assert (got.code, got.source) == (want.code, want.source), got
        assert got.reason and got.notification_key
        if want.notification is not None:
            assert got.notification_key == want.notification
    else:
        assert isinstance(got, RegionHealthSignal), got
        _check_signal(got, want)


def _check_signal(got: RegionHealthSignal, want: Signal) -> None:
    assert (got.source, got.state.value, got.regions) == (want.source, want.state, want.regions)
    assert got.resource_id == want.resource
    assert got.maintenance is want.maintenance
    assert got.incident.startswith(f"{want.source.value}:") and got.notification.startswith(f"{want.source.value}:")
    if want.incident is not None:
        assert got.incident == want.incident
    if want.notification is not None:
        assert got.notification == want.notification
    if want.services is not None:
        assert got.services == want.services
    assert got.at.tzinfo is not None
    assert got.raw, "the payload is kept for the record"


@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r.transport}:{r.file}{':wrapped' if r.wrap else ''}")
def test_fixture_is_classified_as_expected(row: Row) -> None:
    results = _classify(row)
    assert len(results) == len(row.expected), results
    for got, want in zip(results, row.expected, strict=True):
        _check(got, want)


def test_every_fixture_has_an_expected_row() -> None:
    covered = {row.file for row in ROWS}
    missing = [name for name in all_names() if name not in covered]
    assert not missing, f"fixtures without an expected classification: {missing}"
    assert covered <= set(all_names()), f"rows for fixtures that do not exist: {covered - set(all_names())}"


def test_every_published_sample_is_among_the_fixtures() -> None:
    # The names the reference notes publish (copied here so no test needs ../shared).
    published = {
        "activitylog-administrative-common-alert-schema-test-action.json",
        "cloudevents-1.0-envelope-blobcreated.json",
        "eventgrid-deadletter-event-eventgridschema.json",
        "eventgrid-healthresources-availabilitystatuschanged-cloudevent.json",
        "eventgrid-healthresources-availabilitystatuschanged-eventgridschema.json",
        "eventgrid-healthresources-resourceannotated-cloudevent.json",
        "eventgrid-healthresources-resourceannotated-eventgridschema.json",
        "eventgrid-resources-createdorupdated-eventgridschema.json",
        "eventgrid-resources-deleted-cloudevent.json",
        "eventgrid-schema-envelope-blobcreated.json",
        "eventgrid-subscription-validation-event.json",
        "eventgrid-subscription-validation-response.json",
        "metric-common-alert-schema-resolved.json",
        "metric-dynamic-common-alert-schema-fired-test-action.json",
        "metric-static-common-alert-schema-fired-test-action.json",
        "resourcehealth-common-alert-schema-alertcontext.json",
        "resourcehealth-common-alert-schema-test-action.json",
        "servicehealth-common-alert-schema-alertcontext-maintenance.json",
        "servicehealth-common-alert-schema-test-action.json",
    }
    assert published <= set(all_names())
