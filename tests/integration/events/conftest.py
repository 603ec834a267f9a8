"""A local Event Grid topic (HTTP or HTTPS) that checks what a real topic checks, and a DR stack publishing to it.

The topic answers 401 without the right ``aeg-sas-key``, 400 for a body that is not a CloudEvents 1.0 batch, and
503 while ``failing`` is set; it keeps every event it accepted (``accepted``) and every request (``requests``).
"""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import trustme

from devhost.local import local_settings
from emulator.launcher import EmulatorError, running_emulator
from lib.bootstrap import build
from lib.events import DeliveryPolicy
from tests.integration.workflows.conftest import ENGINE, FAST_RETRIES, TIMER_SCALE, Stack

KEY = "local-topic-key"
REQUIRED = ("specversion", "type", "source", "id", "data")


@dataclass
class TopicState:
    failing: bool = False
    accepted: list[dict[str, Any]] = field(default_factory=list)
    requests: list[int] = field(default_factory=list)  # the status answered to each request
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ids(self) -> list[str]:
        with self.lock:
            return [e["id"] for e in self.accepted]

    def of_run(self, run_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return [e for e in self.accepted if e["data"].get("runId") == run_id]


def _problem(headers: Any, body: bytes) -> tuple[int, list[dict[str, Any]]]:
    if headers.get("aeg-sas-key") != KEY:
        return 401, []
    if not str(headers.get("Content-Type", "")).startswith("application/cloudevents-batch+json"):
        return 400, []
    events = json.loads(body)
    ok = isinstance(events, list) and all(all(k in e for k in REQUIRED) and e["specversion"] == "1.0" for e in events)
    return (200, events) if ok else (400, [])


def _handler(state: TopicState) -> type[BaseHTTPRequestHandler]:
    class Topic(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            status, events = _problem(self.headers, body)
            if status == 200 and state.failing:
                status, events = 503, []
            with state.lock:
                state.requests.append(status)
                state.accepted.extend(events)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Topic


@contextmanager
def local_topic(*, tls: trustme.CA | None = None) -> Iterator[tuple[str, TopicState]]:
    state = TopicState()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    scheme = "http"
    if tls is not None:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.issue_cert("127.0.0.1").configure_cert(ctx)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"{scheme}://127.0.0.1:{server.server_port}/api/events", state
    finally:
        server.shutdown()


# Retries of parked events after 1 s, 2 s, 4 s ...; a failure keeps the topic skipped for 2 s.
FAST_DELIVERY = DeliveryPolicy(
    max_attempts=6, first_delay=timedelta(seconds=1), max_delay=timedelta(seconds=4), breaker=timedelta(seconds=2)
)


@pytest.fixture
def events_stack(storage_connection_string: str, unique_name: str) -> Callable[..., Any]:
    """A DR stack (Azurite + the HTTPS ASR emulator) whose settings name the local topic and its key."""

    @contextmanager
    def make(topo: dict[str, Any], telemetry: Any = None) -> Iterator[tuple[Stack, TopicState]]:
        with local_topic() as (endpoint, topic):
            try:
                emu_cm = running_emulator(topo, time_scale=3000.0)
                emu = emu_cm.__enter__()
            except EmulatorError as exc:  # fail loudly, never skip
                pytest.fail(f"the ASR emulator is required and could not start: {exc}", pytrace=False)
            try:
                settings = local_settings(
                    emu, storage_connection_string, work_queue=f"{unique_name}q", runs_table=f"{unique_name}runs",
                    run_index_table=f"{unique_name}idx", locks_table=f"{unique_name}locks", timer_scale=TIMER_SCALE,
                    eventgrid_endpoint=endpoint, eventgrid_key=KEY,
                )  # fmt: skip
                app = build(settings, engine_config=ENGINE, asr_options=FAST_RETRIES, delivery=FAST_DELIVERY,
                            telemetry=telemetry)  # fmt: skip
                app.ensure_storage()
                yield Stack(app, emu), topic
            finally:
                emu_cm.__exit__(None, None, None)

    return make
