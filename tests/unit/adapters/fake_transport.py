"""A hand-written azure-core transport for pure unit tests: canned responses, recorded requests, no network.

It sits where RequestsTransport would, so the real SDK client, its pipeline (RetryPolicy, auth policy,
raw_response_hook) and deserialization all run. ``sleep`` records instead of sleeping, so tests can see
that Retry-After was honoured without waiting for it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

import requests
from azure.core.exceptions import ServiceRequestError
from azure.core.pipeline.transport import HttpTransport
from azure.core.rest import HttpRequest
from azure.core.rest._requests_basic import RestRequestsTransportResponse
from requests.structures import CaseInsensitiveDict


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict/list → JSON; None → empty body
    headers: dict[str, str] = field(default_factory=dict)
    connection_error: bool = False


@dataclass
class Sent:
    method: str
    url: str
    body: Any
    headers: dict[str, str]


class FakeTransport(HttpTransport[Any, Any]):
    def __init__(self, route: Callable[[HttpRequest], Reply | list[Reply]] | None = None) -> None:
        self.sent: list[Sent] = []
        self.sleeps: list[float] = []
        self._queue: list[Reply] = []
        self._route = route

    def queue(self, *replies: Reply) -> FakeTransport:
        self._queue.extend(replies)
        return self

    def send(self, request: HttpRequest, **kwargs: Any) -> RestRequestsTransportResponse:
        raw = request.content if request.content is not None else None
        body = json.loads(raw) if isinstance(raw, str | bytes) and raw else None
        self.sent.append(Sent(request.method, request.url, body, dict(request.headers)))
        if self._queue:
            reply = self._queue.pop(0)
        elif self._route is not None:
            routed = self._route(request)
            reply = routed if isinstance(routed, Reply) else routed[0]
        else:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        if reply.connection_error:
            raise ServiceRequestError("connection refused (fake)")
        internal = requests.Response()
        internal.status_code = reply.status
        internal.reason = HTTPStatus(reply.status).phrase
        content = b"" if reply.body is None else json.dumps(reply.body).encode()
        headers = {"Content-Type": "application/json"} if content else {}
        headers.update(reply.headers)
        internal.headers = CaseInsensitiveDict(headers)
        internal._content = content
        internal._content_consumed = True
        internal.url = request.url
        return RestRequestsTransportResponse(request=request, internal_response=internal)  # type: ignore[no-untyped-call]  # azure-core leaves it unannotated

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def sleep(self, duration: float) -> None:
        self.sleeps.append(duration)

    def __enter__(self) -> FakeTransport:
        return self

    def __exit__(self, *args: object) -> None:
        pass
