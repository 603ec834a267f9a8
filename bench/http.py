"""The HTTP API end to end: ``python -m devhost`` serving the real ``function_app.py`` with the repository's
``host.json`` (queue polling backs off to its ``maxPollingInterval``), on Azurite and the HTTPS ASR emulator.

1. Latency from ``POST /api/failover`` (one VM each, ``autoCommit: false`` so a run stops at its approval and
   leaves the queue idle) to the emulator's arrival time of that run's ``unplannedFailover`` POST (its request
   log). Before each POST the app idles long enough for the queue poll to back off to its cap, as when an
   incident reaches an idle app; a random extra pause spreads the POST over the poll cycle. One warm-up run
   (the app's cold start: imports, storage checks) is reported apart.
2. ``GET /api/runs/{id}`` on a finished failover of 100 VMs: a few client threads, a fixed number of requests.
Prints one JSON line.
"""

from __future__ import annotations

import json
import os
import random
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devhost.appenv import app_env
from devhost.azurite import running_azurite
from devhost.launcher import DevhostInfo, running_devhost
from devhost.local import local_settings
from emulator.launcher import EmulatorInfo, running_emulator

ROOT = Path(__file__).resolve().parent.parent
RUNS = 50
TIME_SCALE = 3000.0  # emulated seconds per real second: a failover job takes ~0.05 s
TIMER_SCALE = 0.01  # workflow waits: a 10 s job poll takes 0.1 s
TIMING = {"jobPollSeconds": 10, "healthPollSeconds": 20, "healthPollMaxSeconds": 60}
BIG_VMS = 100
GET_THREADS = 4
GET_REQUESTS = 400
SETTLED = {"succeeded", "failed", "partially-succeeded", "cancelled", "awaiting-approval"}
FAILOVER_SUFFIX = "/unplannedFailover"


def _topology(vms: list[str]) -> dict[str, Any]:
    return {
        "subscriptionId": "6f4e2a10-0000-4000-8000-00000000b003",
        "resourceGroup": "rg-bench",
        "vault": "vault-bench",
        "primaryRegion": "eastus",
        "recoveryRegion": "westus",
        "vms": [{"name": vm, "diskGiB": 16} for vm in vms],
        "recoveryPlans": [],
    }


def _idle_s() -> float:
    """Empty polls wait 0.1 s, doubling up to maxPollingInterval: the idle time after which waits are capped."""
    cap = float(_host_json_poll_cap())
    wait, total = 0.1, 0.0
    while wait < cap:
        total += wait
        wait *= 2
    return total + 0.2


def _host_json_poll_cap() -> float:
    text = json.loads((ROOT / "host.json").read_text())["extensions"]["queues"]["maxPollingInterval"]
    h, m, s = text.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _ms(values: list[float]) -> dict[str, float]:
    return {"p50": round(1000 * _pct(values, 0.5), 1), "p99": round(1000 * _pct(values, 0.99), 1)}


@dataclass
class Stack:
    host: DevhostInfo
    emu: EmulatorInfo

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
        for attempt in range(5):
            try:
                status, _headers, raw = self.host.request(method, path, body, key=self.host.function_key)
                return status, raw
            except (ConnectionResetError, ConnectionRefusedError):
                time.sleep(0.05 * (attempt + 1))
        raise RuntimeError(f"{method} {path}: the devhost kept resetting the connection")

    def start(self, body: dict[str, Any]) -> str:
        status, raw = self.call("POST", "/api/failover", {"timing": TIMING, **body})
        if status != 202:
            raise RuntimeError(f"POST /api/failover answered {status}: {raw[:500]!r}")
        return str(json.loads(raw)["runId"])

    def wait(self, run_id: str, deadline_s: float = 300.0) -> dict[str, Any]:
        deadline = time.monotonic() + deadline_s
        while True:
            view: dict[str, Any] = json.loads(self.call("GET", f"/api/runs/{run_id}")[1])
            if view["status"] in SETTLED:
                return view
            if time.monotonic() > deadline:
                raise RuntimeError(f"run {run_id} still {view['status']}:\n{self.host.log()[-3000:]}")
            time.sleep(0.1)

    def first_request_after(
        self, since: int, suffix: str, not_before: float = 0.0, deadline_s: float = 60.0
    ) -> dict[str, Any]:
        """The first logged ARM request after ``since`` (and at ``not_before`` or later) ending with ``suffix``."""
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            for entry in self.emu.request_log(since)["entries"]:
                if entry["time"] >= not_before and entry["path"].endswith(suffix):
                    return dict(entry)
            time.sleep(0.02)
        raise RuntimeError(f"no ASR request ending {suffix!r} within {deadline_s}s:\n{self.host.log()[-3000:]}")


@contextmanager
def _stack(azurite_conn: str, vms: list[str]) -> Iterator[Stack]:
    with running_emulator(_topology(vms), time_scale=TIME_SCALE) as emu, tempfile.TemporaryDirectory() as tmp:
        name = "b" + uuid.uuid4().hex[:12]
        settings = local_settings(
            emu, azurite_conn, timer_scale=TIMER_SCALE, work_queue=name, runs_table=f"{name}runs",
            run_index_table=f"{name}idx", locks_table=f"{name}locks",
        )  # fmt: skip
        # The repository's host.json (not a test's fast one); an empty local.settings.json so ours win.
        root = Path(tmp)
        (root / "host.json").write_text((ROOT / "host.json").read_text())
        (root / "local.settings.json").write_text(json.dumps({"IsEncrypted": False, "Values": {}}))
        with running_devhost(env=app_env(settings), app="function_app:app", script_root=root) as host:
            yield Stack(host, emu)


def _one_failover(stack: Stack, vm: str) -> dict[str, float]:
    since = stack.emu.request_log()["last"]
    posted = time.time()
    run_id = stack.start({"target": {"vms": [vm]}, "autoCommit": False, "reason": "bench"})
    answered = time.time()
    # The POST handler itself reads ASR (target check) before it answers; the worker's first read comes after.
    worker_first = stack.first_request_after(since, "", not_before=answered)
    action = stack.first_request_after(since, FAILOVER_SUFFIX)
    if vm not in action["path"] and stack.emu.state()["vms"][vm]["itemName"] not in action["path"]:
        raise RuntimeError(f"the first failover POST is not for {vm}: {action}")
    view = stack.wait(run_id)
    if view["status"] != "awaiting-approval":
        raise RuntimeError(f"run {run_id} ended {view['status']}, not at its commit approval")
    return {
        "action": action["time"] - posted,
        "http": answered - posted,
        "pickup": worker_first["time"] - answered,
        "preflight": action["time"] - worker_first["time"],
    }


def _latency(azurite_conn: str) -> dict[str, Any]:
    vms = [f"lat-{i:02d}" for i in range(RUNS + 1)]
    rng = random.Random(9)
    idle = _idle_s()
    cap = _host_json_poll_cap()
    with _stack(azurite_conn, vms) as stack:
        cold = _one_failover(stack, vms[0])
        samples: list[dict[str, float]] = []
        for vm in vms[1:]:
            time.sleep(idle + rng.uniform(0, cap))
            samples.append(_one_failover(stack, vm))
    return {
        "runs": len(samples),
        "vault_vms": len(vms),
        "max_polling_interval_s": cap,
        "idle_before_post_s": [round(idle, 2), round(idle + cap, 2)],
        "post_to_failover_ms": _ms([s["action"] for s in samples]),
        "post_answer_ms": _ms([s["http"] for s in samples]),
        "answer_to_worker_first_asr_request_ms": _ms([s["pickup"] for s in samples]),
        "worker_first_asr_request_to_failover_ms": _ms([s["preflight"] for s in samples]),
        "cold_first_post_to_failover_ms": round(1000 * cold["action"], 1),
    }


def _get_rps(azurite_conn: str) -> dict[str, Any]:
    vms = [f"big-{i:03d}" for i in range(BIG_VMS)]
    with _stack(azurite_conn, vms) as stack:
        began = time.monotonic()
        run_id = stack.start({"target": {"vms": vms}, "reason": "bench"})
        view = stack.wait(run_id, deadline_s=900)
        settle_s = time.monotonic() - began
        if view["status"] != "succeeded" or len(view["vms"]) != BIG_VMS:
            raise RuntimeError(f"the 100-VM run ended {view['status']} with {len(view['vms'])} VM rows")
        size = len(stack.call("GET", f"/api/runs/{run_id}")[1])
        latencies: list[float] = []
        lock = threading.Lock()

        def client(count: int) -> None:
            for _ in range(count):
                t0 = time.perf_counter()
                status, _raw = stack.call("GET", f"/api/runs/{run_id}")
                took = time.perf_counter() - t0
                if status != 200:
                    raise RuntimeError(f"GET /api/runs/{run_id} answered {status}")
                with lock:
                    latencies.append(took)

        threads = [threading.Thread(target=client, args=(GET_REQUESTS // GET_THREADS,)) for _ in range(GET_THREADS)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
    if len(latencies) != GET_REQUESTS:
        raise RuntimeError(f"only {len(latencies)} of {GET_REQUESTS} GETs succeeded")
    return {
        "vms": BIG_VMS,
        "run_status": view["status"],
        "run_to_succeeded_s": round(settle_s, 1),
        "threads": GET_THREADS,
        "requests": GET_REQUESTS,
        "rps": round(GET_REQUESTS / wall, 1),
        "latency_ms": _ms(latencies),
        "response_bytes": size,
    }


def main() -> dict[str, Any]:
    load = os.getloadavg()
    with running_azurite() as azurite:
        latency = _latency(azurite.connection_string)
        get_run = _get_rps(azurite.connection_string)
    return {
        "bench": "http",
        "cores": os.cpu_count(),
        "loadavg_start": [round(x, 2) for x in load],
        "loadavg_end": [round(x, 2) for x in os.getloadavg()],
        "time_scale": TIME_SCALE,
        "timer_scale": TIMER_SCALE,
        "failover": latency,
        "get_run": get_run,
    }


if __name__ == "__main__":
    print(json.dumps(main()))
