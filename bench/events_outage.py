"""``{"bench": "events-outage"}``: what a failing Event Grid topic costs a DR run (it must cost nothing).

A one-VM failover (commit, reprotect, healthy) on Azurite and the HTTPS ASR emulator (time-scaled), wired by
``lib.bootstrap.build`` with ``EVENTGRID_TOPIC_ENDPOINT`` / ``EVENTGRID_TOPIC_KEY`` naming a local topic that
answers 200, answers 503, or holds every request open (a topic that hangs). Cases alternate run by run, RUNS
each; reported per case: median run wall time, requests the topic saw per run, events parked on the retry
queue per run, and the ratio of each median to the healthy one.
"""

from __future__ import annotations

import statistics
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from devhost.azurite import running_azurite
from devhost.local import local_settings
from emulator.launcher import running_emulator
from lib.bootstrap import build
from lib.engine import Driver, EngineConfig, RetryPolicy

RUNS = 3
CASES = ("healthy", "http-503", "hanging")
TOPOLOGY = {
    "subscriptionId": "6f4e2a10-0000-4000-8000-00000000a5a5", "resourceGroup": "rg-dr", "vault": "vault-dr",
    "primaryRegion": "eastus", "recoveryRegion": "westus", "vms": [{"name": "web-1", "diskGiB": 16}],
}  # fmt: skip
ENGINE = EngineConfig(lease=timedelta(seconds=1), step_budget=timedelta(milliseconds=300),
                      retry=RetryPolicy(max_retries=4, first_delay=timedelta(seconds=10)))  # fmt: skip
BODY = {"target": {"vms": ["web-1"]}, "timing": {"jobPollSeconds": 10, "healthPollSeconds": 20,
                                                 "healthPollMaxSeconds": 60}}  # fmt: skip


class _Topic:
    def __init__(self) -> None:
        self.mode = "healthy"
        self.requests = 0
        self.release = threading.Event()

    def handler(self) -> type[BaseHTTPRequestHandler]:
        topic = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                topic.requests += 1
                if topic.mode == "hanging":
                    topic.release.wait(30)  # longer than the client's read timeout
                self.send_response(503 if topic.mode == "http-503" else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


@contextmanager
def _serving(topic: _Topic) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), topic.handler())
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/api/events"
    finally:
        topic.release.set()
        server.shutdown()


def _one(connection: str, endpoint: str, topic: _Topic, case: str) -> dict[str, float]:
    with running_emulator(TOPOLOGY, time_scale=3000.0) as emu:  # a fresh vault: the VM starts in eastus
        return _failover(connection, emu, endpoint, topic, case)


def _failover(connection: str, emu: Any, endpoint: str, topic: _Topic, case: str) -> dict[str, float]:
    name = f"evb{case.replace('-', '')}{uuid.uuid4().hex[:6]}"
    settings = local_settings(emu, connection, work_queue=name, runs_table=f"{name}runs", run_index_table=f"{name}idx",
                              locks_table=f"{name}locks", timer_scale=0.01, eventgrid_endpoint=endpoint,
                              eventgrid_key="bench-key")  # fmt: skip
    app = build(settings, engine_config=ENGINE)
    app.ensure_storage()
    topic.mode, topic.requests = case, 0
    started = time.perf_counter()
    run_id = app.start("failover", BODY, actor="bench").run_id
    run = Driver(app.engine).run_until_finished(run_id, deadline_s=300)
    elapsed = time.perf_counter() - started
    if run.status.value != "succeeded":
        raise RuntimeError(f"{case}: the run ended {run.status.value}: {run.error}")
    return {"s": elapsed, "requests": topic.requests, "parked": app.events.retries.approximate_count()}


def main() -> dict[str, Any]:
    results: dict[str, list[dict[str, float]]] = {case: [] for case in CASES}
    topic = _Topic()
    with running_azurite() as azurite, _serving(topic) as url:
        for _ in range(RUNS):
            for case in CASES:
                results[case].append(_one(azurite.connection_string, url, topic, case))
    healthy = statistics.median(r["s"] for r in results["healthy"])
    report: dict[str, Any] = {"bench": "events-outage", "runs": RUNS}
    for case, rows in results.items():
        median = statistics.median(r["s"] for r in rows)
        report[case] = {"median_run_s": round(median, 2), "vs_healthy": round(median / healthy, 2),
                        "topic_requests_per_run": statistics.median(r["requests"] for r in rows),
                        "events_parked_per_run": statistics.median(r["parked"] for r in rows)}  # fmt: skip
    return report


if __name__ == "__main__":
    import json

    print(json.dumps(main()))
