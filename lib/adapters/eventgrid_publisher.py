"""Operator events to an Event Grid custom topic as CloudEvents 1.0 (azure-eventgrid).

The client makes one attempt with short timeouts: retries belong to ``lib.events`` (a retry queue with
backoff), so a failing topic never holds a worker for azure-core's retry schedule.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from azure.core.credentials import AzureKeyCredential, TokenCredential
from azure.core.exceptions import AzureError
from azure.core.messaging import CloudEvent
from azure.eventgrid import EventGridPublisherClient

from lib.domain.events import OperatorEvent
from lib.ports.events import PublishFailed

DEFAULT_SOURCE = "/site-recovery-autopilot"
# azure-eventgrid 4.22 drops constructor options for basic topics, so they go with every request; it also hands
# them to its CloudEvent model, which logs a warning per option per event that it ignores them. Quiet that logger.
logging.getLogger("azure.eventgrid._legacy._generated._serialization").setLevel(logging.ERROR)
# One try, and a topic that hangs costs at most a few seconds (then the breaker skips it for a while).
REQUEST_DEFAULTS: dict[str, Any] = {"retry_total": 0, "connection_timeout": 2, "read_timeout": 3}


class EventGridPublisher:
    def __init__(
        self,
        endpoint: str,
        credential: AzureKeyCredential | TokenCredential,
        source: str = DEFAULT_SOURCE,
        *,
        ca_bundle: str = "",
        **client_kwargs: Any,
    ) -> None:
        self._client = EventGridPublisherClient(endpoint, credential, **client_kwargs)
        self._source = source
        self._request_kwargs: dict[str, Any] = {
            **REQUEST_DEFAULTS,
            **({"connection_verify": ca_bundle} if ca_bundle else {}),
        }

    def send(self, events: Sequence[OperatorEvent]) -> None:
        batch = [
            CloudEvent(source=self._source, type=e.type, data=dict(e.data), subject=e.subject, id=e.id, time=e.time)
            for e in events
        ]
        try:
            self._client.send(batch, **self._request_kwargs)
        except AzureError as exc:
            status = getattr(exc, "status_code", None)
            raise PublishFailed(len(batch), f"{f'HTTP {status}: ' if status else ''}{exc.message}") from None
