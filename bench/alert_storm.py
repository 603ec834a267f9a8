"""``{"bench": "alert-storm"}``: 10,000 deliveries through ``POST /api/alerts`` of the real app (the devhost serving
``function_app.py``, its queue trigger doing the work, on Azurite and the HTTPS ASR emulator).

The storm: one real Service Health incident for the protected region, delivered many times and updated; resolved
notices and incidents for other regions; action-group test notifications; planned maintenance of the protected
region. The policy (``auto``) protects TARGETS single-VM targets, so the incident must start exactly one run per
target and one failover POST per VM, and the started decisions must name each run exactly once. The clients retry
a 408/429/503/504 as an action group does (5, 20, 5, 40, 5 s, halved by default, ``ALERT_STORM_RETRY_SHRINK``); a
delivery refused every time is lost and the run is not exactly right. Reported: deliveries per second (the
webhook, several client threads), every answer's time p50/p99/max and the count of 503s, where the slowest 1% of
answers spent their time (from each answer's ``Server-Timing``) and when the worst were sent, and per target the
latency from the incident's first delivery to the arrival of its first ASR action at the emulator (its request
log), p50/p99; decisions by outcome. The devhost runs queue invocations on as many threads as the Python worker
would here (``PYTHON_THREADPOOL_THREAD_COUNT``, default min(32, CPUs + 4)).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from demo.payloads import service_health
from devhost.appenv import app_env
from devhost.azurite import running_azurite
from devhost.launcher import DevhostInfo, running_devhost
from devhost.local import local_settings
from emulator.launcher import EmulatorInfo, running_emulator

DELIVERIES = int(os.environ.get("ALERT_STORM_DELIVERIES", "10000"))  # fewer for a quick look
TARGETS = 20
THREADS = 8
REGION = "eastus"
OTHER_REGIONS = ("westeurope", "northeurope", "uksouth", "japaneast", "australiaeast")
HOST_JSON = {
    "version": "2.0",
    "extensions": {"queues": {"maxPollingInterval": "00:00:00.250", "visibilityTimeout": "00:00:02",
                              "batchSize": int(os.environ.get("ALERT_STORM_BATCH", "16")), "maxDequeueCount": 5}},
}  # fmt: skip
SUBSCRIPTION = "6f4e2a10-0000-4000-8000-00000000b0a5"


def _vms() -> list[str]:
    return [f"vm-{i:02d}" for i in range(TARGETS)]


def _topology() -> dict[str, Any]:
    return {"subscriptionId": SUBSCRIPTION, "resourceGroup": "rg-storm", "vault": "vault-storm",
            "primaryRegion": REGION, "recoveryRegion": "westus",
            "vms": [{"name": vm, "diskGiB": 16} for vm in _vms()], "recoveryPlans": []}  # fmt: skip


def _policy() -> dict[str, Any]:
    return {"regions": {REGION: {
        "mode": "auto", "targets": [{"vms": [vm]} for vm in _vms()], "minSources": 1, "dwellMinutes": 0,
        "failover": {"recoveryPoint": "Latest", "autoCommit": False, "autoReprotect": False},
    }}}  # fmt: skip


def storm(now: datetime, seed: int = 7) -> tuple[list[dict[str, Any]], int]:
    """The deliveries in order, and the index of the incident's first delivery."""
    rng = random.Random(seed)
    at = now - timedelta(minutes=5)
    real = [service_health("STORM-1", REGION, stage="Active", at=at, subscription=SUBSCRIPTION, update=u)
            for u in range(5)]  # fmt: skip
    noise: list[dict[str, Any]] = []
    real_count = DELIVERIES // 4
    for i in range(DELIVERIES - real_count):
        region = OTHER_REGIONS[i % len(OTHER_REGIONS)]
        kind = i % 4
        if kind == 0:
            noise.append(service_health(f"OTHER-{i % 50}", region, stage="Resolved", at=at, subscription=SUBSCRIPTION))
        elif kind == 1:
            noise.append(service_health(f"OTHER-{i % 50}", region, stage="Active", at=at, subscription=SUBSCRIPTION))
        elif kind == 2:
            noise.append(service_health("TEST-TTT", REGION, stage="Active", at=at, subscription=SUBSCRIPTION,
                                        synthetic=True))  # fmt: skip
        else:
            noise.append(service_health(f"MAINT-{i % 10}", REGION, stage="Active", at=at, subscription=SUBSCRIPTION,
                                        incident_type="Maintenance"))  # fmt: skip
    rng.shuffle(noise)
    duplicates = [real[i % len(real)] for i in range(real_count)]
    first = 200  # some noise reaches the app before the incident does
    deliveries = noise[:first] + duplicates[:1] + _interleave(noise[first:], duplicates[1:], rng)
    return deliveries, first


def _interleave(a: list[dict[str, Any]], b: list[dict[str, Any]], rng: random.Random) -> list[dict[str, Any]]:
    merged = [(rng.random(), x) for x in a] + [(rng.random(), x) for x in b]
    return [x for _key, x in sorted(merged, key=lambda kv: kv[0])]


@contextmanager
def _stack() -> Iterator[tuple[DevhostInfo, EmulatorInfo]]:
    with ExitStack() as stack:
        azurite = stack.enter_context(running_azurite())
        emu = stack.enter_context(running_emulator(_topology(), time_scale=600.0))
        settings = local_settings(emu, azurite.connection_string, timer_scale=0.01)
        # The Python worker's thread pool for sync functions, at its default size on this machine: the devhost
        # then runs as many queue invocations at once as the worker would, not batchSize + newBatchThreshold.
        pool = os.environ.get("PYTHON_THREADPOOL_THREAD_COUNT") or str(min(32, (os.cpu_count() or 1) + 4))
        env = app_env(settings) | {"DR_POLICY": json.dumps(_policy()), "PYTHON_THREADPOOL_THREAD_COUNT": pool}
        root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="storm-host-")))
        (root / "host.json").write_text(json.dumps(HOST_JSON))
        log = os.environ.get("ALERT_STORM_HOST_LOG")  # keep the devhost's log there, to read after the run
        stderr = stack.enter_context(open(log, "wb")) if log else None
        yield stack.enter_context(running_devhost(env=env, script_root=root, stderr=stderr)), emu


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# An action group retries a delivery answered 408, 429, 503 or 504 (or not answered) up to 5 times, 5, 20, 5, 40
# and 5 s apart; the bench halves that schedule by default so a storm with 503s still ends in minutes.
RETRY_STATUSES = frozenset({408, 429, 503, 504})
RETRY_SCHEDULE_S = tuple(s / float(os.environ.get("ALERT_STORM_RETRY_SHRINK", "2")) for s in (5, 20, 5, 40, 5))


def _timing(headers: dict[str, str]) -> dict[str, float]:
    """``Server-Timing: parse;dur=1.2, send;dur=3.4, host;dur=9.0`` -> {"parse": 1.2, ...} (ms)."""
    found: dict[str, float] = {}
    for entry in (headers.get("Server-Timing") or "").split(","):
        name, _, rest = entry.strip().partition(";dur=")
        with contextlib.suppress(ValueError):
            found[name] = float(rest)
    return found


class _Sender:
    def __init__(self, host: DevhostInfo) -> None:
        self.host = host
        self.answers: list[float] = []
        self.timings: list[tuple[float, dict[str, float], float]] = []  # (answer s, Server-Timing ms, sent at)
        self.began = time.time()
        self.statuses: dict[int, int] = {}
        self.refusals: dict[str, int] = {}  # answers other than 202, by status and the start of their body
        self.retried = 0  # deliveries that needed more than one attempt
        self.lost = 0  # deliveries still refused after every retry
        self.first_incident_at: float | None = None
        self._lock = threading.Lock()

    def send(self, payload: bytes, incident: bool) -> None:
        for attempt, wait in enumerate((0.0, *RETRY_SCHEDULE_S)):
            time.sleep(wait)
            status = self._attempt(payload, incident)
            if status not in RETRY_STATUSES:
                if attempt:
                    with self._lock:
                        self.retried += 1
                return
        with self._lock:
            self.lost += 1

    def _attempt(self, payload: bytes, incident: bool) -> int:
        started = time.time()
        if incident:
            with self._lock:
                self.first_incident_at = self.first_incident_at or started
        try:
            status, headers, body = self.host.request("POST", "/api/alerts", payload, key=self.host.function_key,
                                                      timeout=30)  # fmt: skip
        except OSError as exc:  # no answer: the action group retries
            status, headers, body = 0, {}, str(exc).encode()
        if status != 202:
            with self._lock:
                why = f"{status} {body[:120].decode(errors='replace')}"
                self.refusals[why] = self.refusals.get(why, 0) + 1
        elapsed = time.time() - started
        with self._lock:
            self.answers.append(elapsed)
            self.timings.append((elapsed, _timing(headers), started - self.began))
            self.statuses[status] = self.statuses.get(status, 0) + 1
        return status

    def slowest(self, share: float = 0.01) -> dict[str, Any]:
        """Where the slowest answers' time went: the handler's parse and send, the rest of the host's request
        handling (invocation, logging, waiting for the GIL), and outside the host (connect, accept, the bytes)."""
        ordered = sorted(self.timings, key=lambda t: t[0], reverse=True)[: max(1, int(len(self.timings) * share))]
        parts: dict[str, list[float]] = {
            k: [] for k in ("read", "routing", "parse", "send", "function_rest", "answer", "outside")
        }
        for total, t, _at in ordered:
            host, handle, function = t.get("host", 0.0), t.get("handle", 0.0), t.get("function", 0.0)
            parts["read"].append(t.get("read", 0.0))  # the request's thread reading headers and body
            parts["routing"].append(handle - function)  # route, key, the invocation's log lines
            parts["parse"].append(t.get("parse", 0.0))
            parts["send"].append(t.get("send", 0.0))
            parts["function_rest"].append(function - t.get("parse", 0.0) - t.get("send", 0.0))
            parts["answer"].append(host - handle - t.get("read", 0.0))  # writing the answer
            parts["outside"].append(total * 1000 - host)  # connect, accept, the thread's start, the bytes back
        mean = {k: round(sum(v) / len(v), 1) for k, v in parts.items()}
        total_ms = _ms(sum(t for t, _, _ in ordered) / len(ordered))
        worst = [{"ms": _ms(total), "sent_at_s": round(at, 1)} for total, _t, at in ordered[:5]]
        return {"answers": len(ordered), "mean_ms": mean, "total_mean_ms": total_ms, "worst": worst}


def _await_runs(host: DevhostInfo, deadline: float) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        _s, _h, raw = host.request("GET", "/api/runs?kind=failover&limit=1000", key=host.function_key)
        runs = json.loads(raw)["runs"]
        if len(runs) >= TARGETS:
            time.sleep(3.0)  # a late duplicate would start a second run now: give it the time to show
            _s, _h, raw = host.request("GET", "/api/runs?kind=failover&limit=1000", key=host.function_key)
            return list(json.loads(raw)["runs"])
        time.sleep(0.5)
    return runs


def _action_latencies(emu: EmulatorInfo, since: float) -> tuple[list[float], int]:
    posts = [
        e for e in emu.request_log()["entries"] if e["route"].startswith("POST") and "unplannedFailover" in e["route"]
    ]
    first: dict[str, float] = {}
    for entry in posts:
        vm_key = entry["path"].split("/replicationProtectedItems/")[-1].split("/")[0]
        first.setdefault(vm_key, entry["time"])
    return [t - since for t in first.values()], len(posts)


def main() -> dict[str, Any]:
    deliveries, first = storm(datetime.now(UTC))
    bodies = [json.dumps(d).encode() for d in deliveries]
    with _stack() as (host, emu):
        sender = _Sender(host)
        started = time.monotonic()
        with ThreadPoolExecutor(THREADS) as pool:
            list(pool.map(lambda i: sender.send(bodies[i], i >= first and b"STORM-1" in bodies[i]), range(len(bodies))))
        sent_s = time.monotonic() - started
        runs = _await_runs(host, time.monotonic() + 600)
        latencies, posts = _action_latencies(emu, sender.first_incident_at or 0.0)
        _s, _h, raw = host.request("GET", f"/api/decisions?region={REGION}&limit=1000", key=host.function_key)
        outcomes: dict[str, int] = {}
        started_runs: list[str] = []  # every run a started decision names: each once, or a decision was doubled
        for d in json.loads(raw).get("decisions", []):
            outcomes[d["outcome"]] = outcomes.get(d["outcome"], 0) + 1
            started_runs += d["runs"] if d["outcome"] == "started" else []
        named = set(started_runs)
    return {
        "bench": "alert-storm", "deliveries": len(bodies), "threads": THREADS, "targets": TARGETS,
        "statuses": sender.statuses, "answers_503": sender.statuses.get(503, 0), "retried_deliveries": sender.retried,
        "lost_deliveries": sender.lost, "deliveries_per_s": round(len(bodies) / sent_s, 1),
        "webhook_answer_ms": {"p50": _ms(_pct(sender.answers, 0.5)), "p99": _ms(_pct(sender.answers, 0.99)),
                              "max": _ms(max(sender.answers)), "answers": len(sender.answers)},
        "slowest_1pct": sender.slowest(),
        "refusals": dict(sorted(sender.refusals.items(), key=lambda kv: -kv[1])[:5]),
        "first_delivery_to_first_action_s": {"p50": _r(_pct(latencies, 0.5)), "p99": _r(_pct(latencies, 0.99)),
                                             "targets_seen": len(latencies)},
        "runs": len(runs), "failover_posts": posts,
        "runs_named_by_started_decisions": len(started_runs), "runs_named_twice": len(started_runs) - len(named),
        "exactly_right": len(runs) == TARGETS == posts == len(started_runs) == len(named) and not sender.lost,
        "decisions_by_outcome_region": outcomes,
    }  # fmt: skip


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 1)


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
