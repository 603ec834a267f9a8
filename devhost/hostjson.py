"""The parts of host.json the local host honours: ``extensions.queues`` and ``extensions.http.routePrefix``."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["HostConfig", "HostJsonError", "QueueOptions", "parse_timespan", "read_host_json"]

_TIMESPAN = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d+))?$")


class HostJsonError(ValueError):
    """host.json has a value the host cannot use; the message names the field."""


@dataclass(frozen=True)
class QueueOptions:
    """Defaults are the Functions host's (Storage extension 5.x)."""

    batch_size: int = 16
    new_batch_threshold: int | None = None
    max_polling_interval_s: float = 60.0
    visibility_timeout_s: float = 0.0
    max_dequeue_count: int = 5
    message_encoding: str = "base64"

    @property
    def refill_below(self) -> int:
        """Fetch the next batch once no more than this many messages are still running (host: batchSize / 2)."""
        return self.new_batch_threshold if self.new_batch_threshold is not None else self.batch_size // 2


@dataclass(frozen=True)
class HostConfig:
    queues: QueueOptions = QueueOptions()
    route_prefix: str = "api"


def parse_timespan(value: object, field: str) -> float:
    """A .NET TimeSpan (``[d.]hh:mm:ss[.fff]``) in seconds."""
    match = _TIMESPAN.match(str(value).strip())
    if match is None:
        raise HostJsonError(f"{field}: {value!r} is not a timespan like 00:00:30")
    days, hours, minutes, seconds, fraction = match.groups()
    total = int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + int(seconds)
    return total + (float(f"0.{fraction}") if fraction else 0.0)


def _int(section: dict[str, Any], name: str, default: int | None, low: int, high: int) -> int | None:
    value = section.get(name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise HostJsonError(f"extensions.queues.{name}: {value!r} must be an integer from {low} to {high}")
    return value


def _queue_options(section: dict[str, Any]) -> QueueOptions:
    base = QueueOptions()
    encoding = str(section.get("messageEncoding", base.message_encoding)).lower()
    if encoding not in ("base64", "none"):
        raise HostJsonError(f"extensions.queues.messageEncoding: {encoding!r} must be base64 or none")
    polling = section.get("maxPollingInterval")
    visibility = section.get("visibilityTimeout")
    return QueueOptions(
        batch_size=_int(section, "batchSize", base.batch_size, 1, 32) or base.batch_size,
        new_batch_threshold=_int(section, "newBatchThreshold", None, 0, 1000),
        max_polling_interval_s=(
            parse_timespan(polling, "extensions.queues.maxPollingInterval")
            if polling is not None
            else base.max_polling_interval_s
        ),
        visibility_timeout_s=(
            parse_timespan(visibility, "extensions.queues.visibilityTimeout") if visibility is not None else 0.0
        ),
        max_dequeue_count=_int(section, "maxDequeueCount", base.max_dequeue_count, 1, 1000) or 1,
        message_encoding=encoding,
    )


def read_host_json(path: Path) -> HostConfig:
    """Read ``path``; an absent file gives the host's defaults."""
    if not path.exists():
        return HostConfig()
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise HostJsonError(f"{path}: not valid JSON ({exc})") from None
    extensions = document.get("extensions", {}) if isinstance(document, dict) else {}
    queues = extensions.get("queues", {}) if isinstance(extensions, dict) else {}
    http = extensions.get("http", {}) if isinstance(extensions, dict) else {}
    if not isinstance(queues, dict) or not isinstance(http, dict):
        raise HostJsonError(f"{path}: extensions.queues and extensions.http must be objects")
    prefix = str(http.get("routePrefix", "api")).strip("/")
    return HostConfig(queues=_queue_options(queues), route_prefix=prefix)
