"""Service Health notifications as an Azure Monitor action group posts them (common alert schema).

Azure sends one notification per stage of an incident (Active, then Resolved), each with its own
``eventDataId``; a webhook may receive the same one more than once. ``monitorCondition`` is always Fired for
activity-log alerts: the stage says whether the incident is active.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from lib.signals.regions import REGION_DISPLAY_NAMES

__all__ = ["service_health"]


def service_health(
    tracking_id: str,
    region: str,
    *,
    stage: str,
    at: datetime,
    subscription: str,
    incident_type: str = "Incident",
    synthetic: bool = False,
    update: int = 0,
) -> dict[str, Any]:
    """One notification of incident ``tracking_id`` in ``region`` (ARM name) at ``stage`` (Active, Resolved).
    ``incident_type`` Maintenance makes it planned maintenance; ``synthetic`` an action group's test notification;
    ``update`` a later communication of the same stage (a new ``eventDataId``)."""
    display = REGION_DISPLAY_NAMES.get(region, region)
    event_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{tracking_id}/{region}/{stage}/{incident_type}/{update}"))
    when = at.isoformat().replace("+00:00", "Z")
    impacted = [
        {"ImpactedRegions": [{"RegionName": display}], "ServiceName": service}
        for service in ("Virtual Machines", "Storage")
    ]
    title = f"Virtual Machines and Storage - {display} - connectivity issues"
    return {
        "schemaId": "azureMonitorCommonAlertSchema",
        "data": {
            "essentials": {
                "alertId": f"/subscriptions/{subscription}/providers/Microsoft.AlertsManagement/alerts/{event_id}",
                "alertRule": f"service-health-{region}", "severity": "Sev1", "signalType": "Activity Log",
                "monitorCondition": "Fired", "monitoringService": "ServiceHealth",
                "alertTargetIDs": [f"/subscriptions/{subscription}"], "originAlertId": event_id,
                "firedDateTime": when, "description": f"Service Health incidents in {display}",
                "essentialsVersion": "1.0", "alertContextVersion": "1.0",
            },
            "alertContext": {
                "channels": 1, "eventSource": 2, "eventTimestamp": when, "eventDataId": event_id, "level": 3,
                "operationName": "Microsoft.ServiceHealth/incident/action", "status": stage,
                "submissionTimestamp": when,
                "properties": {
                    "title": title, "service": "Virtual Machines", "region": display, "incidentType": incident_type,
                    "trackingId": tracking_id, "impactStartTime": when, "impactedServices": json.dumps(impacted),
                    "defaultLanguageTitle": title, "stage": stage, "isHIR": "true", "version": "0.1.1",
                    **({"IsSynthetic": "True"} if synthetic else {}),
                },
            },
            "customProperties": None,
        },
    }  # fmt: skip
