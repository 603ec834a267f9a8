"""Operator events to an Event Grid topic (Event Grid schema). A failed publish is logged, never raised:
notifications must not break a DR run."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from azure.core.credentials import AzureKeyCredential, TokenCredential
from azure.core.exceptions import AzureError
from azure.eventgrid import EventGridEvent, EventGridPublisherClient

log = logging.getLogger("autopilot.notifier")
DATA_VERSION = "1.0"


class EventGridNotifier:
    def __init__(self, endpoint: str, credential: AzureKeyCredential | TokenCredential, **client_kwargs: Any) -> None:
        self._client = EventGridPublisherClient(endpoint, credential, **client_kwargs)
        self.failures = 0

    def publish(self, event_type: str, subject: str, data: Mapping[str, Any]) -> None:
        event = EventGridEvent(subject=subject, event_type=event_type, data=dict(data), data_version=DATA_VERSION)
        try:
            self._client.send(event)
        except AzureError as exc:
            self.failures += 1
            log.error("could not publish %s for %s to Event Grid: %s", event_type, subject, exc)
