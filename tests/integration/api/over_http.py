"""The app as users reach it: ``python -m devhost`` serving ``function_app.py`` over real HTTP, its queue trigger
driving the runs (no test driver), on Azurite and the HTTPS ASR emulator."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from devhost.appenv import app_env
from devhost.launcher import DevhostInfo, running_devhost
from devhost.local import local_settings
from emulator.launcher import EmulatorError, EmulatorInfo, running_emulator
from tests.integration.api.conftest import TIMING, Reply

# Small queue timeouts so that durable timers and retries turn around quickly (host.json semantics as in Azure).
HOST_JSON = {
    "version": "2.0",
    "extensions": {
        "queues": {"maxPollingInterval": "00:00:00.200", "visibilityTimeout": "00:00:01", "batchSize": 16,
                   "maxDequeueCount": 5}
    },
}  # fmt: skip
SETTLED = {"succeeded", "failed", "partially-succeeded", "cancelled", "awaiting-approval", "awaiting-decision"}


@dataclass
class HttpApi:
    host: DevhostInfo
    emu: EmulatorInfo

    def call(self, method: str, path: str, body: Any = None, *, raw: bytes | None = None,
             headers: dict[str, str] | None = None, query: dict[str, str] | None = None,
             key: bool = True) -> Reply:  # fmt: skip
        url = f"/api/{path}" + (f"?{urlencode(query)}" if query else "")
        data = raw if raw is not None else body
        sent = dict(headers or {})
        if raw is not None and "Content-Type" not in sent:
            sent["Content-Type"] = ""  # urllib would otherwise send a form content type
        for attempt in range(5):
            try:
                status, got, answer = self.host.request(
                    method, url, data, key=self.host.function_key if key else None, headers=sent
                )
                return Reply(status, got, answer)
            except (ConnectionResetError, ConnectionRefusedError):
                # The devhost's listen backlog (socketserver's default of 5) resets connections beyond it under
                # a burst; the request never reached the app, so a client retries, as real clients do.
                time.sleep(0.05 * (attempt + 1))
        raise AssertionError(f"{method} {url}: the devhost kept resetting the connection")

    def start(self, kind: str, body: dict[str, Any], **kw: Any) -> Reply:
        path = {"failover": "failover", "failback": "failback", "drill": "drills"}[kind]
        return self.call("POST", path, {"timing": TIMING, **body}, **kw)

    def wait(self, run_id: str, deadline_s: float = 180.0, **kw: Any) -> dict[str, Any]:
        """Poll GET /api/runs/{id} until the run is finished or waits for approval."""
        deadline = time.monotonic() + deadline_s
        while True:
            view: dict[str, Any] = self.call("GET", f"runs/{run_id}", **kw).json
            if view["status"] in SETTLED:
                return view
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"run {run_id} still {view['status']} at {view['step']}:\n{self.host.log()[-3000:]}"
                )
            time.sleep(0.2)

    def posts(self, action: str) -> int:
        by_route: dict[str, int] = self.emu.requests_count()["byRoute"]
        return sum(n for route, n in by_route.items() if route.startswith("POST ") and route.endswith("/" + action))

    def vm(self, name: str) -> dict[str, Any]:
        return dict(self.emu.state()["vms"][name])


def make_http_stack(storage_connection_string: str, tmp_path: Path) -> Callable[..., Any]:
    """What the ``http_stack`` fixture (conftest) hands out: ``with http_stack(topology, auth_mode=...) as api``."""

    @contextmanager
    def make(topo: dict[str, Any], *, auth_mode: str = "keys") -> Iterator[HttpApi]:
        try:
            emu_cm = running_emulator(topo, time_scale=3000.0)
            emu = emu_cm.__enter__()
        except EmulatorError as exc:  # fail loudly, never skip
            pytest.fail(f"the ASR emulator is required and could not start: {exc}", pytrace=False)
        try:
            name = "h" + uuid.uuid4().hex[:12]
            settings = local_settings(
                emu, storage_connection_string, timer_scale=0.01, work_queue=name, runs_table=f"{name}runs",
                run_index_table=f"{name}idx", locks_table=f"{name}locks",
            )  # fmt: skip
            root = tmp_path / name
            root.mkdir()
            (root / "host.json").write_text(json.dumps(HOST_JSON))
            env = {**app_env(settings), "AUTH_MODE": auth_mode}
            with running_devhost(env=env, app="function_app:app", script_root=root) as host:
                yield HttpApi(host, emu)
        finally:
            emu_cm.__exit__(None, None, None)

    return make
