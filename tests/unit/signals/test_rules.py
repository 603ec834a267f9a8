"""The classification rules one by one: each source's fired/resolved rule, the ignore reasons, lenient parsing,
keys, the services filter, and the typed results' JSON form."""

from __future__ import annotations

import copy
import dataclasses
import json
from typing import Any

import pytest

from lib.domain.errors import ValidationError
from lib.signals import (
    ANNOTATED,
    DEFAULT_SERVICES,
    EVERY_REGION,
    KNOWN_REGIONS,
    REGION_DISPLAY_NAMES,
    Classified,
    IgnoreCode,
    Ignored,
    RegionHealthSignal,
    SignalParseError,
    SignalState,
    arm_region,
    from_alert_webhook,
    from_event_grid_event,
    is_known_region,
)
from tests.unit.signals.fixtures import load

ACTIVE, RESOLVED = SignalState.ACTIVE, SignalState.RESOLVED


def one(body: Any) -> Classified:
    results = from_alert_webhook(body)
    assert len(results) == 1
    return results[0]


def signal(result: Classified) -> RegionHealthSignal:
    assert isinstance(result, RegionHealthSignal), result
    return result


def ignored(result: Classified, code: IgnoreCode) -> Ignored:
    assert isinstance(result, Ignored), result
    assert result.code is code, result
    return result


def sh_active() -> dict[str, Any]:
    return copy.deepcopy(load("servicehealth-incident-active-eastus.json"))


def sh_props(body: dict[str, Any]) -> dict[str, Any]:
    props: dict[str, Any] = body["data"]["alertContext"]["properties"]
    return props


def rh(name: str = "resourcehealth-platform-activated.json") -> dict[str, Any]:
    return copy.deepcopy(load(name))


def rh_context(body: dict[str, Any]) -> dict[str, Any]:
    context: dict[str, Any] = body["data"]["alertContext"]
    return context


# --- regions ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "arm"),
    [
        ("North Europe", "northeurope"),
        ("East US 2", "eastus2"),
        ("  east   us 2 ", "eastus2"),
        ("NORTH EUROPE", "northeurope"),
        ("northeurope", "northeurope"),
        ("Australia Central 2", "australiacentral2"),
        ("Global", EVERY_REGION),
        ("global", EVERY_REGION),
        ("Non-Regional", EVERY_REGION),
        ("Finland Central", "finlandcentral"),  # not in the table: the naming rule still maps it
        ("", None),
        ("   ", None),
        ("East/US", None),
        (None, None),
        (3, None),
    ],
)
def test_region_names_map_to_arm_names(name: object, arm: str | None) -> None:
    assert arm_region(name) == arm


def test_the_region_table_is_consistent_with_the_naming_rule() -> None:
    assert len(KNOWN_REGIONS) >= 60
    for arm, display in REGION_DISPLAY_NAMES.items():
        assert arm_region(display) == arm
        assert arm_region(arm) == arm
        assert is_known_region(display)
    assert not is_known_region("Global")
    assert not is_known_region("Finland Central")


# --- Service Health --------------------------------------------------------------------------------------


def test_service_health_state_comes_from_stage_never_from_monitor_condition() -> None:
    resolved = copy.deepcopy(load("servicehealth-incident-resolved-eastus.json"))
    assert resolved["data"]["essentials"]["monitorCondition"] == "Fired"
    assert signal(one(resolved)).state is RESOLVED
    active = sh_active()
    active["data"]["essentials"]["monitorCondition"] = "Resolved"
    assert signal(one(active)).state is ACTIVE


@pytest.mark.parametrize(
    ("stage", "status", "state"),
    [
        ("Active", "Active", ACTIVE),
        ("Resolved", "Active", RESOLVED),  # the stage speaks first
        ("RCA", "Resolved", RESOLVED),
        (None, "Resolved", RESOLVED),  # no stage: the status
        ("", "Active", ACTIVE),
    ],
)
def test_service_health_incident_stages(stage: str | None, status: str, state: SignalState) -> None:
    body = sh_active()
    sh_props(body)["stage"] = stage
    body["data"]["alertContext"]["status"] = status
    assert signal(one(body)).state is state


def test_service_health_without_a_readable_stage_or_status_is_ignored() -> None:
    body = sh_active()
    sh_props(body)["stage"] = "Mystery"
    body["data"]["alertContext"]["status"] = None
    ignored(one(body), IgnoreCode.UNKNOWN_STATE)


@pytest.mark.parametrize(
    ("stage", "state"),
    [
        ("Planned", ACTIVE),
        ("InProgress", ACTIVE),
        ("Rescheduled", ACTIVE),
        ("Canceled", RESOLVED),
        ("Complete", RESOLVED),
    ],
)
def test_maintenance_is_a_signal_flagged_as_maintenance(stage: str, state: SignalState) -> None:
    body = sh_active()
    sh_props(body).update({"incidentType": "Maintenance", "stage": stage})
    found = signal(one(body))
    assert found.maintenance is True
    assert found.state is state


@pytest.mark.parametrize("kind", ["ActionRequired", "Informational", "Information", "Security"])
def test_service_health_other_than_incident_or_maintenance_is_ignored(kind: str) -> None:
    body = sh_active()
    sh_props(body)["incidentType"] = kind
    assert kind in ignored(one(body), IgnoreCode.NOT_INCIDENT).reason


def test_missing_incident_type_falls_back_to_the_operation() -> None:
    body = sh_active()
    del sh_props(body)["incidentType"]
    assert signal(one(body)).maintenance is False
    body["data"]["alertContext"]["operationName"] = "Microsoft.ServiceHealth/maintenance/action"
    assert signal(one(body)).maintenance is True


@pytest.mark.parametrize(
    "marks", [{"IsSynthetic": "True"}, {"IsSynthetic": True}, {"isSynthetic": "true"}, {"trackingId": "test-ttt"}]
)
def test_service_health_test_actions_are_ignored(marks: dict[str, Any]) -> None:
    body = sh_active()
    sh_props(body).update(marks)
    ignored(one(body), IgnoreCode.SYNTHETIC)


def test_a_rule_named_like_the_test_action_samples_is_synthetic() -> None:
    body = sh_active()
    body["data"]["essentials"]["alertRule"] = "test-ServiceHealthAlertRule"
    ignored(one(body), IgnoreCode.SYNTHETIC)
    body["data"]["essentials"]["alertRule"] = "test-eastus-incidents"  # a user's own name: not a test action
    signal(one(body))


@pytest.mark.parametrize(
    "fields",
    [
        {"channels": 1, "eventSource": 2, "level": 3},
        {"channels": "1", "eventSource": "2", "level": "3"},
        {"channels": "Admin", "eventSource": "ServiceHealth", "level": "Warning"},
        {"channels": None, "eventSource": None, "level": None},
    ],
)
def test_enum_fields_as_ints_or_strings_change_nothing(fields: dict[str, Any]) -> None:
    body = sh_active()
    body["data"]["alertContext"].update(fields)
    unchanged = signal(one(sh_active()))
    assert dataclasses.replace(signal(one(body)), raw=unchanged.raw) == unchanged


def test_impacted_services_as_escaped_string_or_array_read_the_same() -> None:
    text_form = sh_active()
    array_form = sh_active()
    sh_props(array_form)["impactedServices"] = json.loads(sh_props(text_form)["impactedServices"])
    a, b = signal(one(text_form)), signal(one(array_form))
    assert a.impacts == b.impacts
    assert a.services == ("Virtual Machines", "Storage")


@pytest.mark.parametrize("broken", [None, "not json [", "{}", 7, [{"nothing": 1}]])
def test_unreadable_impacted_services_fall_back_to_service_and_region(broken: object) -> None:
    body = sh_active()
    sh_props(body).update({"impactedServices": broken, "service": "Virtual Machines", "region": "West Europe"})
    found = signal(one(body))
    assert found.regions == ("westeurope",)
    assert found.services == ("Virtual Machines",)


def test_a_region_field_listing_several_regions_is_split() -> None:
    body = sh_active()
    sh_props(body).update({"impactedServices": None, "region": "East US, West US 2"})
    assert signal(one(body)).regions == ("eastus", "westus2")


def test_service_health_without_any_region_is_ignored() -> None:
    body = sh_active()
    sh_props(body).update({"impactedServices": "[]", "region": None})
    ignored(one(body), IgnoreCode.NO_REGION)


def test_service_health_without_tracking_id_cannot_be_read() -> None:
    body = sh_active()
    del sh_props(body)["trackingId"]
    with pytest.raises(SignalParseError) as caught:
        one(body)
    assert caught.value.field == "properties.trackingId"


def test_global_incident_concerns_every_region() -> None:
    body = sh_active()
    sh_props(body)["impactedServices"] = [
        {"ServiceName": "Virtual Machines", "ImpactedRegions": [{"RegionName": "Global"}]}
    ]
    found = signal(one(body))
    assert found.regions == (EVERY_REGION,)
    assert found.concerns("westeurope", DEFAULT_SERVICES)


def test_the_services_filter_keeps_only_regions_where_a_dependency_is_impacted() -> None:
    found = signal(one(load("servicehealth-incident-multiregion-array.json")))
    assert found.regions_for(DEFAULT_SERVICES) == ("westeurope", "uksouth")  # Virtual Network; not Cosmos DB
    assert found.regions_for(["azure cosmos  db"]) == ("northeurope",)
    assert found.concerns("uksouth", DEFAULT_SERVICES)
    assert not found.concerns("northeurope", DEFAULT_SERVICES)
    custom = signal(from_event_grid_event(load("custom-regionhealth-eventgridschema.json")))
    assert custom.regions_for(["Storage"]) == ()
    assert custom.regions_for(["Virtual Machines"]) == ("eastus",)
    metric = signal(one(load("log-alert-fired-customregion.json")))
    assert metric.regions_for(["anything"]) == ("eastus",)  # no services named: the region as a whole


def test_default_services_cover_what_a_protected_vm_needs() -> None:
    for name in ("Virtual Machines", "Storage", "Virtual Network", "Azure Site Recovery", "Managed Disks"):
        assert name in DEFAULT_SERVICES


# --- keys --------------------------------------------------------------------------------------------------


def test_legacy_and_common_deliveries_of_one_event_share_their_keys() -> None:
    legacy = load("legacy-activitylog-servicehealth-incident.json")
    record = legacy["data"]["context"]["activityLog"]
    common = {
        "schemaId": "azureMonitorCommonAlertSchema",
        "data": {
            "essentials": {"alertId": "/x/alerts/1", "monitoringService": "ServiceHealth", "alertRule": "sh"},
            "alertContext": record,
        },
    }
    a, b = signal(one(legacy)), signal(one(common))
    assert (a.incident, a.notification, a.regions, a.state) == (b.incident, b.notification, b.regions, b.state)


def test_notifications_of_one_incident_share_the_incident_key_only() -> None:
    active = signal(one(load("servicehealth-incident-active-eastus.json")))
    resolved = signal(one(load("servicehealth-incident-resolved-eastus.json")))
    assert active.incident == resolved.incident
    assert active.notification != resolved.notification
    assert active.at < resolved.at


def test_a_notification_without_event_data_id_gets_a_stable_key() -> None:
    body = sh_active()
    del body["data"]["alertContext"]["eventDataId"]
    del body["data"]["essentials"]["originAlertId"]
    first, again = signal(one(body)), signal(one(copy.deepcopy(body)))
    assert first.notification == again.notification
    assert first.notification.startswith("service-health:")


# --- Resource Health ----------------------------------------------------------------------------------------


def test_resource_health_never_reads_monitor_condition() -> None:
    body = rh("resourcehealth-resolved.json")
    assert body["data"]["essentials"]["monitorCondition"] == "Fired"
    assert signal(one(body)).state is RESOLVED


@pytest.mark.parametrize(
    ("status", "verb", "health", "state"),
    [
        ("Active", "Activated", "Unavailable", ACTIVE),
        ("In Progress", "InProgress", "Unavailable", ACTIVE),
        ("Updated", "Updated", None, ACTIVE),
        ("Active", "Activated", "Degraded", ACTIVE),
        ("Active", "Pending", None, ACTIVE),
        ("Resolved", "Resolved", "Available", RESOLVED),
        ("Updated", "Updated", "Available", RESOLVED),
        (None, "Resolved", None, RESOLVED),
    ],
)
def test_resource_health_states(status: str | None, verb: str, health: str | None, state: SignalState) -> None:
    body = rh()
    context = rh_context(body)
    context.update({"status": status, "operationName": f"Microsoft.Resourcehealth/healthevent/{verb}/action"})
    context["properties"].update({"currentHealthStatus": health, "cause": None})
    found = signal(one(body))
    assert found.state is state
    assert found.health == health


def test_resource_health_with_no_state_words_is_ignored() -> None:
    body = rh()
    rh_context(body).update({"status": "Odd", "operationName": "Microsoft.Resourcehealth/other"})
    ignored(one(body), IgnoreCode.UNKNOWN_STATE)


@pytest.mark.parametrize("cause", ["UserInitiated", "userinitiated", "User Initiated"])
def test_user_initiated_resource_health_is_ignored(cause: str) -> None:
    body = rh()
    rh_context(body)["properties"]["cause"] = cause
    ignored(one(body), IgnoreCode.USER_INITIATED)


def test_resource_health_without_target_cannot_be_read() -> None:
    body = rh()
    body["data"]["essentials"]["alertTargetIDs"] = []
    with pytest.raises(SignalParseError) as caught:
        one(body)
    assert caught.value.field == "alertTargetIDs"


# --- metric and log alerts, envelopes ------------------------------------------------------------------


def test_metric_alerts_follow_monitor_condition_and_key_on_it() -> None:
    resolved = load("metric-common-alert-schema-resolved.json")
    fired = copy.deepcopy(resolved)
    fired["data"]["essentials"]["monitorCondition"] = "Fired"
    a, b = signal(one(fired)), signal(one(resolved))
    assert (a.state, b.state) == (ACTIVE, RESOLVED)
    assert a.incident == b.incident
    assert a.notification != b.notification
    assert a.at < b.at  # fired at firedDateTime, resolved at resolvedDateTime
    odd = copy.deepcopy(resolved)
    odd["data"]["essentials"]["monitorCondition"] = "Flapping"
    ignored(one(odd), IgnoreCode.UNKNOWN_STATE)


def test_metric_alert_without_alert_id_cannot_be_read() -> None:
    body = copy.deepcopy(load("metric-common-alert-schema-resolved.json"))
    del body["data"]["essentials"]["alertId"]
    with pytest.raises(SignalParseError) as caught:
        one(body)
    assert caught.value.field == "data.essentials.alertId"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([], "body"),
        ("text", "body"),
        ({"schemaId": "azureMonitorCommonAlertSchema"}, "data"),
        ({"schemaId": "azureMonitorCommonAlertSchema", "data": {"essentials": []}}, "data.essentials"),
        ({"schemaId": "Microsoft.Insights/activityLogs", "data": {"context": {}}}, "data.context.activityLog"),
    ],
)
def test_unreadable_webhook_bodies_name_the_field(body: object, field: str) -> None:
    with pytest.raises(SignalParseError) as caught:
        from_alert_webhook(body)
    assert caught.value.field == field
    assert isinstance(caught.value, ValidationError)  # the API maps it to 400 with the field and reason


def test_other_monitoring_services_and_activity_log_operations_are_not_health() -> None:
    body = copy.deepcopy(load("metric-common-alert-schema-resolved.json"))
    body["data"]["essentials"].update({"monitoringService": "CostAlerts", "signalType": "Budget"})
    ignored(one(body), IgnoreCode.NOT_HEALTH)
    admin = copy.deepcopy(load("activitylog-administrative-common-alert-schema-test-action.json"))
    admin["data"]["essentials"]["alertRule"] = "vm-restarts"
    ignored(one(admin), IgnoreCode.NOT_HEALTH)
    legacy = copy.deepcopy(load("legacy-activitylog-servicehealth-incident.json"))
    legacy["data"]["context"]["activityLog"].update({"eventSource": "Administrative", "operationName": "x/write"})
    ignored(one(legacy), IgnoreCode.NOT_HEALTH)


def test_unknown_schema_is_ignored() -> None:
    ignored(one({"schemaId": "Microsoft.Insights/LogAlert", "data": {}}), IgnoreCode.UNKNOWN_SCHEMA)
    ignored(one({}), IgnoreCode.UNKNOWN_SCHEMA)


# --- Event Grid --------------------------------------------------------------------------------------------


def hr_event(state: str = "Unavailable") -> dict[str, Any]:
    event: dict[str, Any] = copy.deepcopy(load("cloudevents-healthresources-unavailable.json"))
    event["data"]["resourceInfo"]["properties"]["availabilityState"] = state
    return event


def test_health_resources_availability_states() -> None:
    assert signal(from_event_grid_event(hr_event("Degraded"))).state is ACTIVE
    assert signal(from_event_grid_event(hr_event("available"))).state is RESOLVED
    ignored(from_event_grid_event(hr_event("Unknown")), IgnoreCode.UNKNOWN_HEALTH)
    ignored(from_event_grid_event(hr_event("Sideways")), IgnoreCode.UNKNOWN_STATE)


def test_health_resources_in_both_schemas_read_the_same() -> None:
    eg = signal(from_event_grid_event(load("eventgrid-healthresources-availabilitystatuschanged-eventgridschema.json")))
    ce = signal(from_event_grid_event(load("eventgrid-healthresources-availabilitystatuschanged-cloudevent.json")))
    assert (eg.incident, eg.notification, eg.state, eg.at, eg.resource_id) == (
        ce.incident,
        ce.notification,
        ce.state,
        ce.at,
        ce.resource_id,
    )


@pytest.mark.parametrize(("category", "maintenance"), [("Unplanned", False), ("Planned", True)])
def test_platform_annotations_are_signals(category: str, maintenance: bool) -> None:
    event = copy.deepcopy(load("eventgrid-healthresources-resourceannotated-eventgridschema.json"))
    props = event["data"]["resourceInfo"]["properties"]
    props.update({"context": "Platform Initiated", "category": category, "annotationName": "HostCrashed"})
    found = signal(from_event_grid_event(event))
    assert (found.state, found.maintenance, found.stage) == (ACTIVE, maintenance, "HostCrashed")
    props["category"] = "Not Applicable"
    ignored(from_event_grid_event(event), IgnoreCode.NOT_HEALTH)
    assert event["eventType"] == ANNOTATED


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda e: e.pop("id"), "id"),
        (
            lambda e: (e.pop("subject"), e["data"]["resourceInfo"]["properties"].pop("targetResourceId")),
            "data.resourceInfo.properties.targetResourceId",
        ),
        (
            lambda e: (
                e.pop("time"),
                e["data"]["resourceInfo"]["properties"].pop("occurredTime"),
                e["data"].pop("operationalInfo"),
            ),
            "data.resourceInfo.properties.occurredTime",
        ),
    ],
)
def test_unreadable_health_resources_events_name_the_field(mutate: Any, field: str) -> None:
    event = hr_event()
    mutate(event)
    with pytest.raises(SignalParseError) as caught:
        from_event_grid_event(event)
    assert caught.value.field == field


def test_an_event_grid_batch_is_not_one_event() -> None:
    with pytest.raises(SignalParseError) as caught:
        from_event_grid_event(load("eventgrid-subscription-validation-event.json"))
    assert caught.value.field == "event"


def custom(**data: Any) -> dict[str, Any]:
    return {"specversion": "1.0", "id": "e-1", "source": "/me", "type": "Autopilot.RegionHealth", "data": data}


def test_custom_event_fields() -> None:
    found = signal(
        from_event_grid_event(
            custom(regions=["Global"], state="Active", incident="i", maintenance="true", at="2025-01-01T00:00:00")
        )
    )
    assert (found.regions, found.state, found.maintenance, found.at.isoformat()) == (
        (EVERY_REGION,),
        ACTIVE,
        True,
        "2025-01-01T00:00:00+00:00",
    )


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"region": "eastus", "incident": "i"}, "data.state"),
        ({"region": "eastus", "state": "down", "incident": "i"}, "data.state"),
        ({"region": "eastus", "state": "active"}, "data.incident"),
        ({"state": "active", "incident": "i"}, "data.region"),
        ({"regions": ["eastus", 7], "state": "active", "incident": "i"}, "data.region"),
        ({"region": "eastus", "state": "active", "incident": "i"}, "data.at"),  # no time anywhere
    ],
)
def test_malformed_custom_events_name_the_field(data: dict[str, Any], field: str) -> None:
    with pytest.raises(SignalParseError) as caught:
        from_event_grid_event(custom(**data))
    assert caught.value.field == field


# --- typed results as JSON ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "servicehealth-incident-multiregion-array.json",
        "resourcehealth-updated-null-fields.json",
        "log-alert-fired-customregion.json",
    ],
)
def test_signals_survive_a_json_round_trip(name: str) -> None:
    found = signal(one(load(name)))
    stored = json.loads(json.dumps(found.to_json()))
    assert RegionHealthSignal.from_json(stored) == found


def test_event_grid_signals_survive_a_json_round_trip() -> None:
    found = signal(from_event_grid_event(load("cloudevents-healthresources-unavailable.json")))
    assert RegionHealthSignal.from_json(json.loads(json.dumps(found.to_json()))) == found


def test_ignored_survives_a_json_round_trip() -> None:
    for result in (one(load("servicehealth-common-alert-schema-test-action.json")), one({"x": 1})):
        assert isinstance(result, Ignored)
        assert Ignored.from_json(json.loads(json.dumps(result.to_json()))) == result


@pytest.mark.parametrize(
    ("drop", "field"), [("at", "at"), ("incident", "incident"), ("source", "source"), ("state", "state")]
)
def test_a_stored_signal_missing_a_field_is_named(drop: str, field: str) -> None:
    stored = signal(one(load("servicehealth-incident-active-eastus.json"))).to_json()
    del stored[drop]
    with pytest.raises(SignalParseError) as caught:
        RegionHealthSignal.from_json(stored)
    assert caught.value.field == field


def test_legacy_resource_health_names_its_resource() -> None:
    context = rh_context(rh())
    context["resourceId"] = "/subscriptions/s/resourceGroups/r/providers/Microsoft.Compute/virtualMachines/db-1"
    body = {"schemaId": "Microsoft.Insights/activityLogs", "data": {"context": {"activityLog": context}}}
    found = signal(one(body))
    assert (found.source.value, found.resource_id, found.active) == ("resource-health", context["resourceId"], True)


def test_metric_alert_without_target_or_region_is_ignored_and_without_time_unreadable() -> None:
    body = copy.deepcopy(load("metric-common-alert-schema-resolved.json"))
    body["data"]["essentials"]["alertTargetIDs"] = []
    ignored(one(body), IgnoreCode.NO_REGION)
    body = copy.deepcopy(load("metric-common-alert-schema-resolved.json"))
    body["data"]["essentials"].update({"firedDateTime": None, "resolvedDateTime": "soon"})
    with pytest.raises(SignalParseError) as caught:
        one(body)
    assert caught.value.field == "data.essentials.firedDateTime"


def test_service_health_without_any_time_is_unreadable() -> None:
    body = sh_active()
    context = body["data"]["alertContext"]
    del context["eventTimestamp"], context["submissionTimestamp"], body["data"]["essentials"]["firedDateTime"]
    with pytest.raises(SignalParseError) as caught:
        one(body)
    assert caught.value.field == "eventTimestamp"
