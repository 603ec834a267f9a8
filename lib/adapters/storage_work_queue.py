"""WorkQueue on an Azure Storage queue (Azurite locally and in tests).

Bodies are Base64-encoded because that is what the Functions queue trigger decodes by default
(``extensions.queues.messageEncoding`` = base64); messages never expire (TTL -1) because a durable timer
may sit in the queue for days.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Any

from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.storage.queue import QueueClient, QueueMessage, TextBase64DecodePolicy, TextBase64EncodePolicy

from lib.adapters.clocks import SystemClock
from lib.adapters.storage_clients import StorageClients
from lib.ports.clock import Clock
from lib.ports.work_queue import MessageLost, Received

MAX_BATCH = 32  # the service's limit for one Get Messages request


class StorageWorkQueue:
    def __init__(self, client: QueueClient, clock: Clock | None = None) -> None:
        self._client = client
        self._clock = clock or SystemClock()

    @classmethod
    def from_clients(
        cls, clients: StorageClients, queue_name: str, clock: Clock | None = None, **client_kwargs: Any
    ) -> StorageWorkQueue:
        """``client_kwargs`` go to the SDK client, e.g. ``retry_policy`` / ``connection_timeout``."""
        client = clients.queue(
            queue_name,
            message_encode_policy=TextBase64EncodePolicy(),
            message_decode_policy=TextBase64DecodePolicy(),
            **client_kwargs,
        )
        return cls(client, clock)

    @property
    def name(self) -> str:
        return str(self._client.queue_name)

    def create_queue(self) -> None:
        with contextlib.suppress(ResourceExistsError):
            self._client.create_queue()

    def send(self, body: str, delay_s: int = 0) -> str:
        sent = self._client.send_message(body, visibility_timeout=max(0, delay_s) or None, time_to_live=-1)
        return str(sent.id)

    def receive(self, max_messages: int, hold_s: int) -> list[Received]:
        started = self._clock.now()
        pages = self._client.receive_messages(
            messages_per_page=min(max(max_messages, 1), MAX_BATCH), visibility_timeout=hold_s
        ).by_page()
        try:
            page = list(next(pages))  # exactly one request: the pager would otherwise ask again until empty
        except StopIteration:
            return []
        hold_until = started + timedelta(seconds=hold_s)
        return [self._received(m, hold_until) for m in page]

    def update(self, held: Received, body: str, visible_in_s: int) -> Received:
        started = self._clock.now()
        try:
            updated = self._client.update_message(
                held.message_id, pop_receipt=held.pop_receipt, content=body, visibility_timeout=max(0, visible_in_s)
            )
        except (ResourceNotFoundError, HttpResponseError) as exc:
            raise _lost(held.message_id, exc) from None
        return Received(
            message_id=held.message_id,
            pop_receipt=str(updated.pop_receipt),
            body=body,
            dequeue_count=held.dequeue_count,
            hold_until=started + timedelta(seconds=max(0, visible_in_s)),
        )

    def delete(self, held: Received) -> None:
        try:
            self._client.delete_message(held.message_id, pop_receipt=held.pop_receipt)
        except (ResourceNotFoundError, HttpResponseError) as exc:
            raise _lost(held.message_id, exc) from None

    def approximate_count(self) -> int:
        return int(self._client.get_queue_properties().approximate_message_count or 0)

    @staticmethod
    def _received(message: QueueMessage, hold_until: Any) -> Received:
        return Received(
            message_id=str(message.id),
            pop_receipt=str(message.pop_receipt),
            body=str(message.content),
            dequeue_count=int(message.dequeue_count or 1),
            hold_until=hold_until,
        )


def _lost(message_id: str, exc: HttpResponseError) -> Exception:
    """404 (gone) and 400 PopReceiptMismatch (someone received it after us) mean we no longer hold it."""
    code = str(getattr(exc, "error_code", "") or "")
    if exc.status_code == 404 or "PopReceiptMismatch" in code or "POP_RECEIPT_MISMATCH" in code:
        return MessageLost(message_id, code or f"HTTP {exc.status_code}")
    return exc
