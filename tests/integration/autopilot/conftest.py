"""The autopilot as users run it: ``python -m devhost`` serving ``function_app.py`` with a ``DR_POLICY``, its
queue triggers deciding and driving the runs, on Azurite and the HTTPS ASR emulator. Signals arrive over HTTP:
the alert webhook and the Event Grid webhook the Functions host exposes."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from devhost.appenv import app_env
from devhost.launcher import running_devhost
from devhost.local import local_settings
from emulator.launcher import EmulatorError, running_emulator
from tests.integration.api.conftest import Reply
from tests.integration.api.over_http import HOST_JSON, HttpApi

pytestmark = pytest.mark.integration

TIMER_SCALE = 0.01  # policy minutes and workflow waits shrink a hundredfold (a 10 min dwell lasts 6 s)


SENDER_RETRIES = 3  # how often the tests' action group sends an alert again after a 503


@dataclass
class AutopilotApi(HttpApi):
    def alert(self, body: Any) -> Reply:
        """POST /api/alerts as an action group sends it: a 503 (storage did not take the signal within the
        webhook's second, as happens on a loaded machine) is sent again after its Retry-After, a few times."""
        reply = self.call("POST", "alerts", body)
        for _ in range(SENDER_RETRIES):
            if reply.status != 503:
                break
            retry_after = {k.lower(): v for k, v in reply.headers.items()}.get("retry-after", "1")
            time.sleep(float(retry_after))
            reply = self.call("POST", "alerts", body)
        return reply

    def eventgrid(self, body: Any, headers: dict[str, str] | None = None, method: str = "POST") -> Reply:
        path = f"/runtime/webhooks/eventgrid?functionName=eventgrid_signals&code={self.host.eventgrid_key}"
        status, got, raw = self.host.request(method, path, body, headers=headers or {})
        return Reply(status, got, raw)

    def decisions(self, region: str | None = None) -> list[dict[str, Any]]:
        query = {"region": region, "limit": "1000"} if region else {"limit": "1000"}
        reply = self.call("GET", "decisions", query=query)
        assert reply.status == 200, reply.raw
        found: list[dict[str, Any]] = reply.json["decisions"]
        return found

    def wait_decisions(self, region: str | None, ok: Callable[[list[dict[str, Any]]], bool],
                       deadline_s: float = 60.0) -> list[dict[str, Any]]:  # fmt: skip
        deadline = time.monotonic() + deadline_s
        while True:
            found = self.decisions(region)
            if ok(found):
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"decisions for {region}: {json.dumps(found)[:3000]}\n{self.host.log()[-3000:]}")
            time.sleep(0.2)

    def runs(self, status: str | None = None) -> list[dict[str, Any]]:
        runs: list[dict[str, Any]] = self.call("GET", "runs", query={"status": status} if status else None).json["runs"]
        return runs

    def wait_status(self, run_id: str, wanted: str, deadline_s: float = 120.0) -> dict[str, Any]:
        deadline = time.monotonic() + deadline_s
        while True:
            view: dict[str, Any] = self.call("GET", f"runs/{run_id}").json
            if view["status"] == wanted:
                return view
            if time.monotonic() > deadline:
                raise AssertionError(f"run {run_id} is {view['status']} at {view['step']}, not {wanted}")
            time.sleep(0.2)


def outcomes(decisions: list[dict[str, Any]]) -> list[str]:
    return [d["outcome"] for d in reversed(decisions)]  # oldest first


@pytest.fixture
def autopilot_stack(storage_connection_string: str, tmp_path: Path) -> Callable[..., Any]:
    """``with autopilot_stack(topology, policy) as api``: the devhost with ``DR_POLICY`` = ``policy``."""

    @contextmanager
    def make(topo: dict[str, Any], policy: dict[str, Any] | str) -> Iterator[AutopilotApi]:
        try:
            emu_cm = running_emulator(topo, time_scale=3000.0)
            emu = emu_cm.__enter__()
        except EmulatorError as exc:  # fail loudly, never skip
            pytest.fail(f"the ASR emulator is required and could not start: {exc}", pytrace=False)
        try:
            name = "a" + uuid.uuid4().hex[:12]
            settings = local_settings(
                emu, storage_connection_string, timer_scale=TIMER_SCALE, work_queue=name, runs_table=f"{name}runs",
                run_index_table=f"{name}idx", locks_table=f"{name}locks",
            )  # fmt: skip
            text = policy if isinstance(policy, str) else json.dumps(policy)
            settings = replace(settings, policy=text)
            root = tmp_path / name
            root.mkdir()
            (root / "host.json").write_text(json.dumps(HOST_JSON))
            with running_devhost(env=app_env(settings), app="function_app:app", script_root=root) as host:
                yield AutopilotApi(host, emu)
        finally:
            emu_cm.__exit__(None, None, None)

    return make
