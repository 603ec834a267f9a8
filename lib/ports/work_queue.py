"""The work-item queue: one message = one step of one run (Azure Storage queue in every environment)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from lib.domain.errors import AutopilotError


class MessageLost(AutopilotError):
    """We no longer hold the message: its pop receipt is stale (someone else received it) or it is gone."""

    def __init__(self, message_id: str, reason: str) -> None:
        super().__init__(f"message {message_id}: {reason}")
        self.message_id = message_id
        self.reason = reason


class BadWorkItem(AutopilotError):
    """A queue message that is not a work item (``{"run_id": str, "version": int}``)."""

    def __init__(self, body: str, reason: str) -> None:
        super().__init__(f"not a work item ({reason}): {body[:200]!r}")
        self.body = body
        self.reason = reason


@dataclass(frozen=True)
class WorkItem:
    """``{"run_id", "version"}``: execute the run's current step if the run is still at ``version``.

    ``base`` is the message's dequeue count when the engine last re-scheduled it (a driver reuses one message
    for many steps), so ``dequeue_count - base - 1`` counts deliveries that ended without a result.
    """

    run_id: str
    version: int
    base: int = 0

    def encode(self) -> str:
        body: dict[str, object] = {"run_id": self.run_id, "version": self.version}
        if self.base:
            body["base"] = self.base
        return json.dumps(body, separators=(",", ":"))

    def failed_deliveries(self, dequeue_count: int) -> int:
        return max(0, dequeue_count - self.base - 1)

    @classmethod
    def decode(cls, body: str | bytes) -> WorkItem:
        text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise BadWorkItem(text, f"invalid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise BadWorkItem(text, "not a JSON object")
        run_id, version = data.get("run_id"), data.get("version")
        if not isinstance(run_id, str) or not run_id:
            raise BadWorkItem(text, "run_id must be a non-empty string")
        if not isinstance(version, int) or isinstance(version, bool) or version < 0:
            raise BadWorkItem(text, "version must be a non-negative integer")
        base = data.get("base", 0)
        if not isinstance(base, int) or isinstance(base, bool) or base < 0:
            raise BadWorkItem(text, "base must be a non-negative integer")
        return cls(run_id, version, base)


@dataclass(frozen=True)
class Received:
    """A message we hold. ``hold_until`` is when it becomes visible to other receivers again (our clock)."""

    message_id: str
    pop_receipt: str
    body: str
    dequeue_count: int
    hold_until: datetime


class WorkQueue(Protocol):
    """Message bodies are text; the adapter takes care of the encoding the Functions host expects."""

    @property
    def name(self) -> str: ...

    def send(self, body: str, delay_s: int = 0) -> str:
        """Enqueue (never expires); visible after ``delay_s`` seconds. Returns the message id."""
        ...

    def receive(self, max_messages: int, hold_s: int) -> list[Received]:
        """One request; each message stays invisible to others for ``hold_s`` seconds."""
        ...

    def update(self, held: Received, body: str, visible_in_s: int) -> Received:
        """Rewrite a held message; it becomes visible again in ``visible_in_s`` s. Raises ``MessageLost``."""
        ...

    def delete(self, held: Received) -> None:
        """Raises ``MessageLost`` if we no longer hold it (or it is gone)."""
        ...

    def approximate_count(self) -> int:
        """Visible and invisible messages (a hint: the service counts lazily)."""
        ...
