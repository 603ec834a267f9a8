"""A stand-in for the App Service / Functions managed-identity endpoint, for tests.

In Azure the platform sets ``IDENTITY_ENDPOINT`` and ``IDENTITY_HEADER``; azure-identity's
ManagedIdentityCredential then asks ``GET {IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=...&client_id=...``
with the header ``X-IDENTITY-HEADER``. This server answers that protocol with an unsigned JWT for the asked
resource (Azurite's ``--oauth basic`` checks issuer, audience and lifetime, not the signature) and records each
request, so a test sees which identity the app asked for. The app's code is unchanged: the same
ManagedIdentityCredential that runs in Azure talks to this endpoint.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

TENANT = "72f988bf-0000-4000-8000-00000000a5a5"


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def unsigned_jwt(audience: str, *, lifetime_s: int = 3600, issuer: str = f"https://sts.windows.net/{TENANT}/") -> str:
    now = int(time.time())
    claims = {"aud": audience, "iss": issuer, "iat": now - 60, "nbf": now - 60, "exp": now + lifetime_s}
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."


@dataclass(frozen=True)
class TokenRequest:
    resource: str
    client_id: str
    header_ok: bool


@dataclass
class FakeIdentityEndpoint:
    url: str
    header: str
    requests: list[TokenRequest] = field(default_factory=list)
    issuer: str = f"https://sts.windows.net/{TENANT}/"  # a test may hand out tokens Azurite must refuse

    def env(self) -> dict[str, str]:
        return {"IDENTITY_ENDPOINT": self.url, "IDENTITY_HEADER": self.header}


@contextmanager
def running_identity_endpoint() -> Iterator[FakeIdentityEndpoint]:
    header = secrets.token_hex(16)
    state: list[FakeIdentityEndpoint] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            endpoint = state[0]
            query = parse_qs(urlsplit(self.path).query)
            resource = query.get("resource", [""])[0]
            ok = self.headers.get("X-IDENTITY-HEADER") == endpoint.header
            endpoint.requests.append(TokenRequest(resource, query.get("client_id", [""])[0], ok))
            if not ok or not resource:
                self._send(400, {"error": "invalid_request"})
                return
            expires = int(time.time()) + 3600
            token = unsigned_jwt(resource.removesuffix("/.default"), issuer=endpoint.issuer)
            self._send(200, {"access_token": token, "expires_on": str(expires), "resource": resource,
                             "token_type": "Bearer"})  # fmt: skip

        def _send(self, status: int, body: dict[str, str]) -> None:
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.append(FakeIdentityEndpoint(f"http://127.0.0.1:{server.server_address[1]}/msi/token", header))
    thread = threading.Thread(target=server.serve_forever, name="fake-identity", daemon=True)
    thread.start()
    try:
        yield state[0]
    finally:
        server.shutdown()
        server.server_close()
