"""Alert and event payloads for the autopilot's tests, made from the fixtures in tests/fixtures/events."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from tests.unit.signals.fixtures import load, wrap_common

ACTIVE = "servicehealth-incident-active-eastus.json"
RESOLVED = "servicehealth-incident-resolved-eastus.json"
SYNTHETIC = "servicehealth-common-alert-schema-test-action.json"
CUSTOM = "custom-regionhealth-eventgridschema.json"


def service_health(name: str = ACTIVE, *, region: str = "East US", tracking: str = "7K2Q-LP0",
                   at: datetime | None = None, data_id: str | None = None) -> dict[str, Any]:  # fmt: skip
    """A Service Health fixture moved to ``region`` / ``tracking`` (and event time ``at``), with its own id."""
    text = json.dumps(load(name)).replace("East US", region).replace("7K2Q-LP0", tracking)
    body: dict[str, Any] = json.loads(text)
    context = body["data"]["alertContext"]
    if data_id is not None:
        context["eventDataId"] = data_id
    if at is not None:
        stamp = at.isoformat().replace("+00:00", "Z")
        context["eventTimestamp"] = context["submissionTimestamp"] = stamp
    return body


def maintenance() -> dict[str, Any]:
    """Planned maintenance of Virtual Machines in East US (the published sample names another service)."""
    context = load("servicehealth-common-alert-schema-alertcontext-maintenance.json")["alertContext"]
    context = json.loads(json.dumps(context).replace("Azure Synapse Analytics", "Virtual Machines"))
    return wrap_common(context, "ServiceHealth", "/subscriptions/0000")


def synthetic() -> dict[str, Any]:
    body: dict[str, Any] = load(SYNTHETIC)
    return body


def custom_event(*, region: str = "eastus", state: str = "active", incident: str = "synthetic-eastus",
                 at: datetime | None = None, event_id: str | None = None) -> dict[str, Any]:  # fmt: skip
    """Our ``Autopilot.RegionHealth`` event (Event Grid schema) from another source than Service Health."""
    event: dict[str, Any] = load(CUSTOM)
    event["id"] = event_id or str(uuid.uuid4())
    event["data"] = {**event["data"], "region": region, "state": state, "incident": incident}
    if at is not None:
        event["eventTime"] = at.isoformat().replace("+00:00", "Z")
    return event


def as_cloudevent(event: dict[str, Any]) -> dict[str, Any]:
    """The same event in the CloudEvents 1.0 schema (the id is kept: a redelivery is the same notification)."""
    return {"specversion": "1.0", "id": event["id"], "source": event["topic"], "type": event["eventType"],
            "subject": event["subject"], "time": event["eventTime"], "data": event["data"]}  # fmt: skip
