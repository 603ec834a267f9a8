"""Monitoring on the whole stack: Azurite, the HTTPS ASR emulator, the app's real triggers (status route) and the
readiness evaluation the timer runs; operator events go through the real Event Grid client to a local topic."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jsonschema
import pytest
from azure.core.credentials import AzureKeyCredential

from lib.adapters.eventgrid_publisher import EventGridPublisher
from lib.api.openapi import document
from lib.domain.events import READINESS_CHANGED
from lib.guard import Policy, policy_from_data
from lib.monitoring import evaluate_readiness
from lib.readiness import TargetReadiness
from tests.integration.api.conftest import Api, api_stack, topology  # noqa: F401 (api_stack: a fixture)
from tests.integration.workflows.conftest import dr_stack  # noqa: F401 (a fixture api_stack uses)

pytestmark = pytest.mark.integration

__all__ = ["CACHE_WUS", "Monitor", "Topic", "policy", "topology"]

DOCUMENT = document()
STATUS_SCHEMA = DOCUMENT["paths"]["/status"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
CACHE_WUS = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/cachewus"


class Topic(BaseHTTPRequestHandler):
    """A local Event Grid topic: records every event it is sent."""

    events: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).events.extend(body)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def policy(**region: Any) -> Policy:
    parsed = policy_from_data({"regions": {"eastus": {"targets": [{"vms": ["vm1"]}], **region}}})
    assert isinstance(parsed, Policy), parsed
    return parsed


@dataclass
class Monitor:
    api: Api
    topic: type[Topic]

    @property
    def emu(self) -> Any:
        return self.api.stack.emu

    def evaluate(self, pol: Policy | None = None) -> dict[str, TargetReadiness]:
        report = evaluate_readiness(self.api.stack.app, policy=pol or policy())
        return {r.target: r for r in report.results}

    def status(self) -> dict[str, Any]:
        """GET /api/status, checked against its schema in the OpenAPI document."""
        reply = self.api.call("GET", "status")
        assert reply.status == 200, reply.raw
        body: dict[str, Any] = reply.json
        jsonschema.validate(body, {**STATUS_SCHEMA, "components": DOCUMENT["components"]})
        return body

    def readiness_events(self) -> list[dict[str, Any]]:
        return [e for e in self.topic.events if e["type"] == READINESS_CHANGED]


@pytest.fixture
def monitor_stack(request: pytest.FixtureRequest, unique_name: str) -> Callable[..., Any]:
    make_api = request.getfixturevalue("api_stack")

    @contextmanager
    def make(topo: dict[str, Any], *, cache_seconds: float = 0.0, cache_accounts: str = f"westus={CACHE_WUS}",
             region: str = "") -> Iterator[Monitor]:  # fmt: skip
        topic = type("T", (Topic,), {"events": []})
        server = ThreadingHTTPServer(("127.0.0.1", 0), topic)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            with make_api(topo) as api:
                app = api.stack.app
                app.settings = replace(app.settings, readiness_table=f"{unique_name}rd", app_region=region,
                                       status_cache_seconds=cache_seconds,
                                       asr_cache_storage_accounts=cache_accounts)  # fmt: skip
                endpoint = f"http://127.0.0.1:{server.server_port}/api/events"
                app.events.publisher = EventGridPublisher(endpoint, AzureKeyCredential("k"))
                yield Monitor(api, topic)
        finally:
            server.shutdown()

    return make
