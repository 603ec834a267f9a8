"""The HTTP front of the local host: ``/<routePrefix>/<route>`` triggers and the Event Grid webhook.

A threaded stdlib server: every request gets its own thread, as concurrent requests do in the Functions host.
Unknown paths and methods a route does not declare answer 404, as the host does.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import azure.functions as func

from devhost import eventgrid
from devhost.admin import AdminError, run_function
from devhost.discovery import AppIndex, HttpFunction
from devhost.invoke import invoke
from devhost.keys import Keys, Level, presented_key

__all__ = ["HttpHost", "Reply", "match_function"]

log = logging.getLogger("devhost.http")

EVENTGRID_PATH = "/runtime/webhooks/eventgrid"
ADMIN_FUNCTIONS = "/admin/functions/"


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def json(cls, status: int, document: Any, headers: tuple[tuple[str, str], ...] = ()) -> Reply:
        return cls(status, json.dumps(document).encode(), (("Content-Type", "application/json"), *headers))

    @classmethod
    def error(cls, status: int, code: str, message: str) -> Reply:
        return cls.json(status, {"error": {"code": code, "message": message}})


def match_function(index: AppIndex, prefix: str, method: str, path: str) -> tuple[HttpFunction, dict[str, str]] | None:
    """The most specific function whose route and methods match (then registration order), with its parameters."""
    rest = path.strip("/")
    if prefix:
        head, _, rest = rest.partition("/")
        if head.lower() != prefix.lower():
            return None
    found: list[tuple[HttpFunction, dict[str, str]]] = []
    for function in index.http:
        params = function.route.match(rest)
        if params is not None and (function.methods is None or method in function.methods):
            found.append((function, params))
    return min(found, key=lambda pair: pair[0].route.precedence, default=None)


def _response(result: Any, invocation_id: str) -> Reply:
    if isinstance(result, func.HttpResponse):
        headers = [(k, v) for k, v in result.headers.items() if k.lower() != "content-type"]
        content_type = result.headers.get("content-type") or (
            f"{result.mimetype}; charset={result.charset}" if result.mimetype else ""
        )
        if content_type:
            headers.append(("Content-Type", content_type))
        return Reply(result.status_code, result.get_body() or b"", tuple(headers))
    if result is None:
        return Reply(204)
    if isinstance(result, str | bytes):
        data = result.encode() if isinstance(result, str) else result
        return Reply(200, data, (("Content-Type", "text/plain; charset=utf-8"),))
    log.error("invocation %s returned %s, not an HttpResponse", invocation_id, type(result).__name__)
    return _failed(invocation_id)


def _failed(invocation_id: str) -> Reply:
    return Reply.json(
        500,
        {
            "error": {
                "code": "FunctionInvocationFailed",
                "message": f"the function failed; see the host log for invocation {invocation_id}",
                "invocationId": invocation_id,
            }
        },
        (("x-devhost-invocation-id", invocation_id),),
    )


class HttpHost:
    """What the handler needs: the app index, the keys and the route prefix."""

    def __init__(self, index: AppIndex, keys: Keys, route_prefix: str) -> None:
        self.index = index
        self.keys = keys
        self.prefix = route_prefix

    def handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes, base_url: str) -> Reply:
        split = urlsplit(target)
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        if split.path.rstrip("/").lower() == EVENTGRID_PATH:
            return self._eventgrid(method, headers, query, body)
        if split.path.lower().startswith(ADMIN_FUNCTIONS):
            return self._admin(method, split.path[len(ADMIN_FUNCTIONS) :], headers, query, body)
        found = match_function(self.index, self.prefix, method, split.path)
        if found is None:
            return Reply.error(404, "NotFound", f"no function serves {method} {split.path}")
        function, route_params = found
        if not self.keys.allows(function.level, presented_key(headers, query)):
            return Reply.error(401, "Unauthorized", f"{function.name} needs a valid {function.level.value} key")
        request = func.HttpRequest(
            method, base_url + target, headers=dict(headers), params=query, route_params=route_params, body=body
        )
        outcome = invoke(function.name, function.target, function.arg_name, request, f"Reason='{method} {split.path}'")
        if not outcome.ok:
            return _failed(outcome.invocation_id)
        reply = _response(outcome.result, outcome.invocation_id)
        return replace(reply, headers=(*reply.headers, ("Server-Timing", f"function;dur={outcome.function_ms:.1f}")))

    def _admin(
        self, method: str, name: str, headers: Mapping[str, str], query: Mapping[str, str], body: bytes
    ) -> Reply:
        if not self.keys.allows(Level.ADMIN, presented_key(headers, query)):
            return Reply.error(401, "Unauthorized", "the admin API needs the master key")
        if method != "POST":
            return Reply.error(405, "MethodNotAllowed", "POST /admin/functions/{name} runs a function")
        try:
            outcome = run_function(self.index, name.strip("/"), body)
        except AdminError as exc:
            return Reply.error(exc.status, "AdminRequestRefused", str(exc))
        status = "Succeeded" if outcome.ok else "Failed"
        return Reply.json(202, {"invocationId": outcome.invocation_id, "status": status})

    def _eventgrid(self, method: str, headers: Mapping[str, str], query: Mapping[str, str], body: bytes) -> Reply:
        if not self.keys.allows_eventgrid(presented_key(headers, query)):
            return Reply.error(
                401, "Unauthorized", "the Event Grid webhook needs the eventgrid_extension or master key"
            )
        name = query.get("functionName", "")
        function = self.index.eventgrid_function(name)
        if function is None:
            return Reply.error(404, "NotFound", f"no Event Grid function named {name!r}")
        if method == "OPTIONS":
            allowed = eventgrid.options_reply(headers)
            return Reply(200, b"", tuple(allowed.items())) if allowed else Reply(200, b"", (("Allow", "POST"),))
        if method != "POST":
            return Reply.error(405, "MethodNotAllowed", "the Event Grid webhook takes POST (and OPTIONS)")
        try:
            delivery = eventgrid.parse_delivery(headers, body)
        except eventgrid.EventGridError as exc:
            return Reply.error(400, "BadEventGridDelivery", str(exc))
        if delivery.kind == "validation":
            log.info("Event Grid subscription validation for %s answered", function.name)
            return Reply.json(200, {"validationResponse": delivery.validation_code})
        if delivery.kind == "deletion":
            return Reply(202)
        for event in delivery.events:
            argument = eventgrid.trigger_argument(event)
            outcome = invoke(function.name, function.target, function.arg_name, argument, f"EventId={event['id']}")
            if not outcome.ok:  # Event Grid retries the delivery on any non-2xx
                return _failed(outcome.invocation_id)
        return Reply(202)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    _began = _read = _handled = 0.0

    def setup(self) -> None:
        super().setup()
        self._began = time.monotonic()  # the request's thread runs: from here on the time is the host's

    def _dispatch(self) -> None:
        self._began = self._began or time.monotonic()
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self._send(Reply.error(400, "BadRequest", "Content-Length is not a number"))
            return
        try:
            body = self.rfile.read(length) if length > 0 else b""
            address = self.server.server_address
            host = self.headers.get("Host") or f"{address[0]!s}:{address[1]}"
            self._read = time.monotonic()
            reply = self.server.host.handle(self.command, self.path, dict(self.headers.items()), body, f"http://{host}")
            self._handled = time.monotonic()
        except Exception:  # a host bug answers 500 and the host keeps serving
            log.exception("devhost failed to handle %s %s", self.command, self.path)
            reply = Reply.error(500, "HostError", "the local host failed to handle this request; see its log")
        self._send(reply)

    def _send(self, reply: Reply) -> None:
        self.send_response(reply.status)
        # Server-Timing: the app's own entries, then the host's time for the whole request (its thread's start to
        # the answer), so a client can tell time in the handler from time in the host and on the way.
        timing = [v for n, v in reply.headers if n.lower() == "server-timing"]
        if self._handled:
            timing.append(f"read;dur={(self._read - self._began) * 1000:.1f}")
            timing.append(f"handle;dur={(self._handled - self._read) * 1000:.1f}")
        timing.append(f"host;dur={(time.monotonic() - self._began) * 1000:.1f}")
        self._began = self._read = self._handled = 0.0  # a kept-alive connection's next request starts afresh
        for name, value in reply.headers:
            if name.lower() != "server-timing":
                self.send_header(name, value)
        self.send_header("Server-Timing", ", ".join(timing))
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)

    # http.server dispatches on do_<METHOD>; every method goes through the same routing.
    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch  # noqa: N815 - the base class's naming

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # The default backlog (5) resets a burst of concurrent clients before a thread can accept them; the
    # Functions host's front end queues far more.
    request_queue_size = 128
    host: HttpHost


def serve(host: HttpHost, address: str, port: int) -> _Server:
    server = _Server((address, port), _Handler)
    server.host = host
    return server
