"""Framework-neutral request and response: what a trigger hands to a handler and gets back."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ApiRequest", "ApiResponse", "json_response"]


@dataclass(frozen=True)
class ApiRequest:
    method: str
    params: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)  # names in lower case
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass(frozen=True)
class ApiResponse:
    status: int
    body: Any = None  # JSON-able, or None for an empty body; text when media_type is not JSON
    headers: Mapping[str, str] = field(default_factory=dict)
    media_type: str = "application/json"
    raw: bytes | None = None  # a body sent as it is (its Content-Type in ``headers``), e.g. a report's HTML

    def encoded(self) -> bytes:
        if self.raw is not None:
            return self.raw
        if self.body is None:
            return b""
        if self.media_type != "application/json":
            return str(self.body).encode()
        return json.dumps(self.body, separators=(",", ":")).encode()


def json_response(status: int, body: Any, **headers: str) -> ApiResponse:
    return ApiResponse(status, body, {k.replace("_", "-"): v for k, v in headers.items()})
