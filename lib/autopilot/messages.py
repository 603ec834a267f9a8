"""The signals queue's message format (JSON, versioned ``"v": 1``). Three kinds:

- ``{"v":1,"kind":"payload","channel":"alert"|"eventgrid","body":<raw JSON>,"receivedAt":iso}``: a webhook
  body or one Event Grid event as received, classified on the queue (the webhook only checks it can be read);
- ``{"v":1,"kind":"signal","signal":<RegionHealthSignal.to_json()>}``: a signal made by the app itself (probes);
- ``{"v":1,"kind":"evaluate","region":"...","why":"dwell"}``: decide again for a region (a durable timer).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from lib.domain.errors import ValidationError
from lib.signals import RegionHealthSignal

__all__ = [
    "CHANNELS",
    "VERSION",
    "BadMessage",
    "Evaluate",
    "Message",
    "Payload",
    "SignalMessage",
    "decode",
    "delivered_event",
    "encode",
]

VERSION = 1
Channel = Literal["alert", "eventgrid"]
CHANNELS: tuple[Channel, ...] = ("alert", "eventgrid")


class BadMessage(ValidationError):
    """A queue message that is not one of ours: ``field`` and ``reason`` say why. It is logged and dropped."""


@dataclass(frozen=True)
class Payload:
    channel: Channel
    body: Any
    received_at: datetime


@dataclass(frozen=True)
class SignalMessage:
    signal: RegionHealthSignal


@dataclass(frozen=True)
class Evaluate:
    region: str
    why: str = "dwell"


Message = Payload | SignalMessage | Evaluate


def encode(message: Message) -> str:
    body: dict[str, Any]
    if isinstance(message, Payload):
        body = {"kind": "payload", "channel": message.channel, "body": message.body,
                "receivedAt": message.received_at.isoformat()}  # fmt: skip
    elif isinstance(message, SignalMessage):
        body = {"kind": "signal", "signal": message.signal.to_json()}
    else:
        body = {"kind": "evaluate", "region": message.region, "why": message.why}
    return json.dumps({"v": VERSION, **body}, separators=(",", ":"))


def _channel(value: object) -> Channel:
    for known in CHANNELS:
        if value == known:
            return known
    raise BadMessage("channel", f"must be one of {', '.join(CHANNELS)}, got {value!r}")


def _time(value: object) -> datetime:
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        raise BadMessage("receivedAt", f"{value!r} is not an ISO 8601 time") from None


def _region(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise BadMessage("region", "must be a region name")
    return value


def decode(text: str | bytes) -> Message:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise BadMessage("body", f"not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise BadMessage("body", "not a JSON object")
    if data.get("v") != VERSION:
        raise BadMessage("v", f"version {data.get('v')!r} is not {VERSION}")
    kind = data.get("kind")
    if kind == "payload":
        return Payload(_channel(data.get("channel")), data.get("body"), _time(data.get("receivedAt")))
    if kind == "signal":
        signal = data.get("signal")
        if not isinstance(signal, dict):
            raise BadMessage("signal", "must be a RegionHealthSignal object")
        return SignalMessage(RegionHealthSignal.from_json(signal))
    if kind == "evaluate":
        return Evaluate(_region(data.get("region")), str(data.get("why") or "timer"))
    raise BadMessage("kind", f"{kind!r} is not payload, signal or evaluate")


def delivered_event(event: Any) -> dict[str, Any]:
    """The event as it was delivered (either schema), rebuilt from the Functions worker's ``EventGridEvent`` or
    ``CloudEvent`` (duck-typed: no ``azure.functions`` import here) for the classifier."""
    if hasattr(event, "specversion"):
        return {"specversion": event.specversion, "id": event.id, "source": event.source, "type": event.type,
                "subject": event.subject, "time": _iso(event.time), "data": event.get_json()}  # fmt: skip
    return {"id": event.id, "topic": event.topic, "subject": event.subject, "eventType": event.event_type,
            "eventTime": _iso(event.event_time), "dataVersion": event.data_version,
            "data": event.get_json()}  # fmt: skip


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value
