"""The Event Grid webhook the Functions Event Grid extension exposes (``/runtime/webhooks/eventgrid``), minus HTTP.

Both delivery schemas are accepted:
- Event Grid schema: a JSON array of events; ``aeg-event-type: SubscriptionValidation`` carries one
  ``Microsoft.EventGrid.SubscriptionValidationEvent`` answered with ``{"validationResponse": code}`` (HTTP 200).
- CloudEvents 1.0: one event (``application/cloudevents+json``) or a batch (``application/cloudevents-batch+json``,
  an array); its validation is the abuse-protection ``OPTIONS`` handshake, answered with ``WebHook-Allowed-Origin``.
Each event becomes the trigger argument through azure-functions' own Event Grid converter, so the function gets
exactly what the Python worker would give it: ``func.EventGridEvent``, or ``func.CloudEvent`` for CloudEvents.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from azure.functions import meta
from azure.functions.eventgrid import EventGridEventInConverter

__all__ = [
    "VALIDATION_EVENT",
    "Delivery",
    "EventGridError",
    "options_reply",
    "parse_delivery",
    "trigger_argument",
]

VALIDATION_EVENT = "Microsoft.EventGrid.SubscriptionValidationEvent"


class EventGridError(ValueError):
    """A delivery the webhook refuses (HTTP 400); the message says what is wrong."""


@dataclass(frozen=True)
class Delivery:
    kind: str  # "validation" | "deletion" | "notification"
    events: tuple[dict[str, Any], ...] = ()
    validation_code: str = ""


def _header(headers: Mapping[str, str], name: str) -> str:
    return next((v for k, v in headers.items() if k.lower() == name), "")


def options_reply(headers: Mapping[str, str]) -> dict[str, str] | None:
    """Headers for the CloudEvents webhook-validation OPTIONS, or None when it is not one."""
    origin = _header(headers, "webhook-request-origin")
    if not origin:
        return None
    return {"WebHook-Allowed-Origin": origin, "WebHook-Allowed-Rate": "*", "Allow": "POST, OPTIONS"}


def _events(document: Any) -> list[dict[str, Any]]:
    items = document if isinstance(document, list) else [document]
    if not items:
        raise EventGridError("the body is an empty array: no events to deliver")
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise EventGridError(f"event [{index}] is not a JSON object")
        required = ("id", "source", "type") if "specversion" in item else ("id", "eventType")
        missing = [name for name in required if not item.get(name)]
        if "specversion" not in item and not isinstance(item.get("subject"), str):
            missing.append("subject")  # required by the schema, though a validation event leaves it empty
        if missing:
            raise EventGridError(f"event [{index}] lacks {', '.join(missing)}")
    return items


def parse_delivery(headers: Mapping[str, str], body: bytes) -> Delivery:
    try:
        document = json.loads(body or b"null")
    except ValueError as exc:
        raise EventGridError(f"the body is not JSON ({exc})") from None
    if not isinstance(document, list | dict):
        raise EventGridError("the body must be an array of events or one CloudEvent object")
    if isinstance(document, dict) and "specversion" not in document:
        raise EventGridError("an Event Grid schema delivery must be a JSON array of events")
    events = _events(document)
    event_type = _header(headers, "aeg-event-type").lower()
    first = events[0]
    if event_type == "subscriptionvalidation" or first.get("eventType") == VALIDATION_EVENT:
        data = first.get("data")
        code = data.get("validationCode") if isinstance(data, dict) else None
        if not isinstance(code, str) or not code:
            raise EventGridError("subscription validation event lacks data.validationCode")
        return Delivery("validation", validation_code=code)
    if event_type == "subscriptiondeletion":
        return Delivery("deletion")
    return Delivery("notification", tuple(events))


def trigger_argument(event: dict[str, Any]) -> Any:
    """The object the Python worker passes for one event (the worker's converter, not a copy of it)."""
    return EventGridEventInConverter.decode(meta.Datum(json.dumps(event), "json"), trigger_metadata={})
