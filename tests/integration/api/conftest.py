"""The HTTP API on the whole stack: the app's real trigger functions, called with real ``azure.functions``
request objects, on Azurite and the HTTPS ASR emulator. Only the app wiring is swapped for the test's
(``functions.http_common.current_app``), exactly as the engine's trigger tests do."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import azure.functions as func
import pytest
from azure.data.tables import TableClient

from functions import http_common
from tests.app_functions import http_routes
from tests.integration.workflows.conftest import NETWORK, TIMING, Stack, dr_stack, topology  # noqa: F401 (dr_stack: a fixture shared with the workflow tests)

pytestmark = pytest.mark.integration

__all__ = ["NETWORK", "TIMING", "Api", "topology"]


def _routes() -> dict[tuple[str, str], Callable[[func.HttpRequest], func.HttpResponse]]:
    return {key: fn for key, (_level, fn) in http_routes().items()}


ROUTES = _routes()


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    raw: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.raw) if self.raw else None

    @property
    def field(self) -> str | None:
        return self.json["error"]["field"] if self.status >= 400 else None


@dataclass
class Api:
    stack: Stack

    def call(self, method: str, path: str, body: Any = None, *, raw: bytes | None = None,
             headers: dict[str, str] | None = None, query: dict[str, str] | None = None) -> Reply:  # fmt: skip
        route, params = _match(method, path)
        data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        hdrs = {"Content-Type": "application/json"} if data and raw is None else {}
        hdrs |= headers or {}
        req = func.HttpRequest(method=method, url=f"http://localhost/api/{path}", headers=hdrs,
                               params=query or {}, route_params=params, body=data)  # fmt: skip
        res = ROUTES[(method, route)](req)
        return Reply(res.status_code, dict(res.headers), res.get_body())

    def start(self, kind: str, body: dict[str, Any], **kw: Any) -> Reply:
        return self.call("POST", {"failover": "failover", "failback": "failback", "drill": "drills"}[kind],
                         {"timing": TIMING, **body}, **kw)  # fmt: skip

    def runs_stored(self) -> int:
        return sum(1 for _ in self._table(self.stack.app.settings.runs_table).query_entities("RowKey eq 'run'"))

    def index_rows(self) -> int:
        """Run index rows and idempotency keys (both live in the index table)."""
        return sum(1 for _ in self._table(self.stack.app.settings.run_index_table).list_entities())

    def _table(self, name: str) -> TableClient:
        return self.stack.app.clients.table(name)


def _match(method: str, path: str) -> tuple[str, dict[str, str]]:
    parts = path.split("/")
    for m, route in ROUTES:
        pattern = route.split("/")
        if m != method or len(pattern) != len(parts):
            continue
        params = {p[1:-1]: v for p, v in zip(pattern, parts, strict=True) if p.startswith("{")}
        if all(p.startswith("{") or p == v for p, v in zip(pattern, parts, strict=True)):
            return route, params
    raise AssertionError(f"no route for {method} {path}")


@pytest.fixture
def api_stack(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    make_dr = request.getfixturevalue("dr_stack")

    @contextmanager
    def make(topo: dict[str, Any], *, auth_mode: str = "keys") -> Iterator[Api]:
        with make_dr(topo) as stack:
            stack.app.settings = replace(stack.app.settings, auth_mode=auth_mode)
            monkeypatch.setattr(http_common, "current_app", lambda: stack.app)
            yield Api(stack)

    return make


@pytest.fixture
def http_stack(storage_connection_string: str, tmp_path: Path) -> Callable[..., Any]:
    """The app under ``python -m devhost`` over real HTTP (see over_http.py)."""
    from tests.integration.api.over_http import make_http_stack  # it imports this module

    return make_http_stack(storage_connection_string, tmp_path)
