"""HTTPS server (stdlib ``ThreadingHTTPServer`` + ``ssl``) with a throwaway trustme CA.

Request pipeline for ARM paths: count -> fault rules (latency, connection reset, HTTP error) -> token-bucket
throttle -> auth -> api-version -> route -> handler (under the backend lock, after ``sync()``).
"""

from __future__ import annotations

import json
import re
import socket
import ssl
import struct
import sys
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import trustme

from emulator import admin, outage, urls
from emulator.arm import Request, Response, retry_after
from emulator.backend import Backend
from emulator.errors import (
    BadRequest,
    InjectedFault,
    InvalidApiVersion,
    MethodNotAllowed,
    MissingApiVersion,
    NotFound,
    ServiceError,
    Throttled,
    Unauthorized,
)
from emulator.faults import FaultRule
from emulator.responses import dispatch

API_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}(-preview)?$")
_INJECTED_CODES = {
    401: "InvalidAuthenticationToken",
    403: "AuthorizationFailed",
    429: "SubscriptionRequestsThrottled",
    500: "InternalServerError",
    503: "ServiceUnavailable",
}


class ConnectionReset(Exception):
    """A fault rule asked to drop the connection without an answer."""


def make_tls(cert_dir: Path) -> tuple[ssl.SSLContext, Path]:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    cert_dir.mkdir(parents=True, exist_ok=True)
    ca_path = cert_dir / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    return ctx, ca_path


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int, backend: Backend, tls: ssl.SSLContext, *, verbose: bool = False) -> None:
        super().__init__(("127.0.0.1", port), ArmHandler)
        self.backend = backend
        self.tls = tls
        self.verbose = verbose
        self.counter = admin.RequestCounter()
        self.endpoint = f"https://127.0.0.1:{self.server_address[1]}"
        backend.endpoint = self.endpoint

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Dropped connections (resets, clients going away, TLS probes) are expected; real bugs are logged.
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError | ssl.SSLError | ValueError):
            return
        super().handle_error(request, client_address)


class ArmHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: EmulatorServer

    def setup(self) -> None:
        # TLS handshake in the connection's own thread, so a slow client never blocks accept().
        self.request = self.server.tls.wrap_socket(self.request, server_side=True)
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            sys.stderr.write(f"{self.address_string()} {format % args}\n")

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    # --- pipeline ---------------------------------------------------------------------------------------
    def _handle(self, method: str) -> None:
        url = urllib.parse.urlsplit(self.path)
        query = {k: v[0] for k, v in urllib.parse.parse_qs(url.query, keep_blank_values=True).items()}
        raw = self._body()
        if raw is None:
            return
        if url.path.lower().startswith("/_emulator/"):
            try:
                body = json.loads(raw) if raw.strip() else None
            except ValueError:
                body = None
            status, payload = admin.handle(
                self.server.backend, self.server.counter, method, url.path, query=query, body=body
            )
            self._send(Response(status, payload))
            return
        try:
            response = self._arm(method, url.path, query, raw)
        except ConnectionReset:
            self._reset()
            return
        except ServiceError as exc:
            response = Response(exc.status, exc.body(), dict(exc.headers))
        self._send(response, kind="reads" if method == "GET" else "writes")

    def _body(self) -> bytes | None:
        """The request body; None when the client went away before all of it arrived (e.g. a process killed
        between sending the headers and the body, which the HTTP client writes separately). ARM never receives
        such a request: it is neither counted nor acted on, so a request count is one of requests ASR got."""
        length = int(self.headers.get("Content-Length") or 0)
        try:
            raw = self.rfile.read(length)
        except OSError:  # reset by the peer mid-body
            raw = b""
        if len(raw) < length:
            self.close_connection = True
            return None
        return raw

    def _arm(self, method: str, path: str, query: dict[str, str], raw: bytes) -> Response:
        b = self.server.backend
        route = urls.match(method, path)
        template = route.template if route else None
        self.server.counter.count(method, template, path)
        try:
            body = json.loads(raw) if raw.strip() else None
        except ValueError as exc:
            raise BadRequest("The request body is not valid JSON.", inner_code="InvalidRequestContent") from exc
        params = {k: urllib.parse.unquote(v) for k, v in (route.params if route else {}).items()}
        self._apply_faults(b.faults.match_request(method, template, self._vm_of(params, body)))
        kind = "reads" if method == "GET" else "writes"
        allowed, _remaining, retry = b.faults.take_token(kind)
        if not allowed:
            raise Throttled("read" if kind == "reads" else "write", b.topology.subscription_id, retry)
        if not (self.headers.get("Authorization") or "").startswith("Bearer "):
            raise Unauthorized("Authentication failed. The 'Authorization' header is missing or not a Bearer token.")
        version = query.get("api-version")
        if not version:
            raise MissingApiVersion()
        if not API_VERSION.match(version):
            raise InvalidApiVersion(f"The api-version '{version}' is invalid.")
        outage.check_arm_scope(b, path)
        if route is None:
            raise NotFound(f"No HTTP resource was found that matches the request URI '{path}'.", code="NotFound")
        if route.name == "!method":
            raise MethodNotAllowed(f"The requested resource does not support http method '{method}'.")
        request = Request(
            method, path, query, body, urls.RouteMatch(route.name, route.template, params), self.server.endpoint
        )
        with b.lock:
            now = b.sync()
            return dispatch(b, request, now)

    def _vm_of(self, params: dict[str, str], body: Any) -> str | None:
        items = self.server.backend.items
        name = params.get("replicatedProtectedItemName")
        if name is None and isinstance(body, dict):
            name = (body.get("properties") or {}).get("replicationProtectedItemName")
        item = items.get(name or "")
        return item.vm if item else None

    def _apply_faults(self, fired: list[FaultRule]) -> None:
        for rule in fired:
            if rule.kind == "latency" and rule.latency_ms > 0:
                time.sleep(rule.latency_ms / 1000)
        if any(rule.kind == "reset" for rule in fired):
            raise ConnectionReset()
        for rule in fired:
            if rule.kind != "http":
                continue
            headers = {"Retry-After": retry_after(rule.retry_after)} if rule.retry_after is not None else {}
            if rule.status == 429:
                kind = "read" if self.command == "GET" else "write"
                throttled = Throttled(kind, self.server.backend.topology.subscription_id, int(rule.retry_after or 1))
                throttled.headers["Retry-After"] = headers.get("Retry-After", "1")
                raise throttled
            code = rule.code or _INJECTED_CODES.get(rule.status, "InjectedFault")
            raise InjectedFault(rule.status, code, rule.message or f"Injected fault {rule.id}.", headers)

    # --- output -----------------------------------------------------------------------------------------
    def _send(self, response: Response, kind: str | None = None) -> None:
        data = b"" if response.body is None else json.dumps(response.body).encode()
        self.send_response(response.status)
        headers = {"x-ms-request-id": str(uuid.uuid4()), "x-ms-correlation-request-id": str(uuid.uuid4())}
        if kind is not None:
            bucket = self.server.backend.faults.buckets[kind]
            headers[f"x-ms-ratelimit-remaining-subscription-{kind}"] = str(bucket.remaining())
            headers[f"x-ms-ratelimit-remaining-subscription-global-{kind}"] = str(int(bucket.remaining() * 15))
        headers.update(response.headers)
        for name, value in headers.items():
            self.send_header(name, value)
        if data:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if data:
            self.wfile.write(data)

    def _reset(self) -> None:
        """Abort the TCP connection with an RST (SO_LINGER 0), like a dropped load-balancer connection."""
        self.close_connection = True
        try:
            raw = self.connection
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            raw.close()
        except OSError:
            pass
