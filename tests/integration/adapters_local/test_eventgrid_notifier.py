"""Events reach a real HTTP endpoint through azure-eventgrid; an endpoint that fails does not raise."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from azure.core.credentials import AzureKeyCredential

from lib.adapters.eventgrid_notifier import EventGridNotifier

pytestmark = pytest.mark.integration


class _Topic(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], Any]] = []
    status = 200

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((dict(self.headers), json.loads(body)))
        self.send_response(type(self).status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def topic() -> Iterator[tuple[str, type[_Topic]]]:
    handler = type("Topic", (_Topic,), {"received": [], "status": 200})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/api/events", handler
    server.shutdown()


def test_event_is_posted_in_event_grid_schema(topic: tuple[str, type[_Topic]]) -> None:
    endpoint, handler = topic
    notifier = EventGridNotifier(endpoint, AzureKeyCredential("local-key"), retry_total=0)
    notifier.publish("Autopilot.ReprotectSlow", "runs/r1", {"runId": "r1", "vms": {"web-1": 43}})
    headers, body = handler.received[0]
    assert headers["aeg-sas-key"] == "local-key"
    assert body[0]["eventType"] == "Autopilot.ReprotectSlow" and body[0]["subject"] == "runs/r1"
    assert body[0]["data"] == {"runId": "r1", "vms": {"web-1": 43}} and body[0]["dataVersion"] == "1.0"
    assert notifier.failures == 0


def test_failing_topic_is_counted_not_raised(topic: tuple[str, type[_Topic]]) -> None:
    endpoint, handler = topic
    handler.status = 500
    notifier = EventGridNotifier(endpoint, AzureKeyCredential("k"), retry_total=0)
    notifier.publish("Autopilot.RunFinished", "runs/r2", {"runId": "r2"})
    assert notifier.failures == 1 and handler.received  # the topic was reached and said no
