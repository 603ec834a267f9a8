"""Engine throughput and storage cost per step transition, on a private Azurite.

A DR-shaped workflow (next, next, 3 polls, next, 4 polls, done: 13 transitions per run; waits scaled to 0 so
the engine, not a timer, is measured) runs for many runs at once through the synchronous driver with 1 and
with 8 worker threads. Every storage request is counted by kind through the SDK's request hook (a request is
a billed storage transaction). Also measured: the pure-poll and pure-next paths, the Functions-host path
(host receives a batch of 16 and deletes each message after the function returns; four ways side by side,
``HOST_MODES``, and poll-only), and a cProfile of the 1-worker run plus Azurite's own CPU time, to show where
the time goes. Prints one JSON line.
"""

from __future__ import annotations

import contextlib
import cProfile
import json
import multiprocessing
import os
import pstats
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from devhost.azurite import running_azurite
from lib.adapters.clocks import SystemClock
from lib.adapters.engine_storage import engine_storage
from lib.adapters.request_counter import RequestCounter
from lib.adapters.storage_clients import StorageClients
from lib.engine import Done, Driver, Engine, EngineConfig, Next, Outcome, Step, StepContext, Wait, Workflow
from lib.ports.work_queue import MessageLost

RUNS = 60
PROFILE_RUNS = 20
HOSTED_RUNS = 20
ROOT = str(Path(__file__).resolve().parent.parent)


def _next(ctx: StepContext, deps: None) -> Outcome:
    return Next("ok", {"step": ctx.step})


def _poll(times: int) -> Callable[[StepContext, None], Outcome]:
    def run(ctx: StepContext, deps: None) -> Outcome:
        key = f"polls_{ctx.step}"
        polls = int(ctx.state.get(key, 0))
        if polls < times:
            ctx.state[key] = polls + 1
            return Wait(timedelta(seconds=60), f"poll {polls + 1}", {"progress": {"vm1": polls * 25}})
        return Next("ready")

    return run


def _done(ctx: StepContext, deps: None) -> Outcome:
    return Done("all VMs healthy")


DR_LIKE: Workflow[None] = Workflow(
    "dr-like",
    (
        Step("preflight", _next),
        Step("failover", _next),
        Step("await_failover", _poll(3)),
        Step("commit", _next),
        Step("await_healthy", _poll(4)),
        Step("report", _done),
    ),
)
POLL_ONLY: Workflow[None] = Workflow("poll-only", (Step("poll", _poll(11)), Step("report", _done)))
NEXT_ONLY: Workflow[None] = Workflow("next-only", (*(Step(f"s{i}", _next) for i in range(12)), Step("report", _done)))
REGISTRY = {w.name: w for w in (DR_LIKE, POLL_ONLY, NEXT_ONLY)}
TRANSITIONS = {"dr-like": 13, "poll-only": 13, "next-only": 13}


class _Bed:
    """Fresh tables and queue on the shared Azurite (or those named ``name``), counting every request."""

    made = 0

    def __init__(self, connection_string: str, name: str = "", config: EngineConfig | None = None) -> None:
        _Bed.made += 1
        name = name or f"bench{_Bed.made}x{os.getpid()}"
        self.name = name
        self.counter = RequestCounter()
        self.storage = engine_storage(
            StorageClients.from_connection_string(connection_string, **self.counter.client_kwargs()),
            queue_name=name,
            runs_table=f"{name}runs",
            index_table=f"{name}idx",
        )
        self.storage.provision()
        self.engine: Engine[None] = Engine(
            registry=REGISTRY,
            deps=None,
            store=self.storage.store,
            queue=self.storage.queue,
            poison_queue=self.storage.poison,
            clock=SystemClock(),
            timer_scale=0.0,
            config=config,
        )

    def start(self, workflow: str, runs: int) -> dict[str, float]:
        self.counter.reset()
        for i in range(runs):
            self.engine.start(workflow, {"vms": [f"vm-{i}"]})
        return {"start_tx_per_run": self.counter.total() / runs}


def _per_transition(counter: RequestCounter, transitions: int) -> dict[str, float]:
    snap = counter.snapshot()
    return {kind: round(count / transitions, 3) for kind, count in snap.items() if count}


def _drive(bed: _Bed, workflow: str, runs: int, workers: int) -> dict[str, Any]:
    start = bed.start(workflow, runs)
    bed.counter.reset()
    azurite_before = _azurite_cpu_s()
    cpu_before, wall_before = time.process_time(), time.perf_counter()
    report = Driver(bed.engine, workers=workers).drain(deadline_s=600)
    wall = time.perf_counter() - wall_before
    transitions = report.steps
    expected = runs * TRANSITIONS[workflow]
    if transitions != expected or not report.idle:
        raise RuntimeError(f"{workflow}: {transitions} transitions, expected {expected}; {report}")
    return {
        "transitions": transitions,
        "wall_s": round(wall, 3),
        "transitions_per_s": round(transitions / wall, 1),
        "tx_per_transition": round(bed.counter.total() / transitions, 3),
        "by_kind": _per_transition(bed.counter, transitions),
        "python_cpu_share": round((time.process_time() - cpu_before) / wall, 3),
        "azurite_cpu_share": round((_azurite_cpu_s() - azurite_before) / wall, 3),
        **start,
    }


# Ways to run the Functions queue trigger, measured side by side (issue 15 asked for both options):
# - one_step_per_message: the host path before: a lease write, one step, its checkpoint, a fresh message.
# - reuse_message: as above, but the function rewrites the message the host received (its pop receipt) instead
#   of sending a new one; the host still deletes it after the function returns, which now fails (a request).
# - lease_in_checkpoint: a ``Next`` step goes on in the same invocation under the lease its checkpoint
#   carries, so only waits and the first step of a delivery cost a lease write, a message and a delete.
# - both: the last two together.
HOST_MODES = ("one_step_per_message", "reuse_message", "lease_in_checkpoint", "both")


def _hosted(
    connection_string: str, runs: int, mode: str = "lease_in_checkpoint", workflow: str = "dr-like"
) -> dict[str, Any]:
    """The Functions host's way: batch of 16; the host deletes each message after the function returns."""
    chain = mode in ("lease_in_checkpoint", "both")
    bed = _Bed(connection_string, config=None if chain else EngineConfig(max_chain=1))
    reuse = mode in ("reuse_message", "both")
    bed.start(workflow, runs)
    bed.counter.reset()
    queue, transitions, started = bed.storage.queue, 0, time.perf_counter()
    while True:
        batch = queue.receive(16, 300)
        if not batch:
            if queue.approximate_count() == 0:
                break
            continue
        for msg in batch:
            if reuse:
                transitions += bed.engine.executor().process(msg, held=True).steps
            else:
                transitions += bed.engine.handle_message(msg.body, msg.message_id, msg.dequeue_count).steps
            # The host deletes with the pop receipt it received; when the function rewrote (or deleted) the
            # message that fails, and the host ignores the mismatch. The request is made (and billed) anyway.
            with contextlib.suppress(MessageLost):
                queue.delete(msg)
    wall = time.perf_counter() - started
    if transitions != runs * TRANSITIONS[workflow]:
        raise RuntimeError(f"hosted ({mode}, {workflow}): {transitions} transitions")
    return {
        "transitions_per_s": round(transitions / wall, 1),
        "tx_per_transition": round(bed.counter.total() / transitions, 3),
        "by_kind": _per_transition(bed.counter, transitions),
    }


class _Timed:
    """Wraps a store or queue: accumulates wall and thread-CPU time spent inside its methods."""

    def __init__(self, inner: Any, acc: dict[str, float]) -> None:
        self._inner, self._acc = inner, acc

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if not callable(attr):
            return attr

        def timed(*args: Any, **kwargs: Any) -> Any:
            wall, cpu = time.perf_counter(), time.thread_time()
            try:
                return attr(*args, **kwargs)
            finally:
                self._acc["wall"] += time.perf_counter() - wall
                self._acc["cpu"] += time.thread_time() - cpu

        return timed


def _split(bed: _Bed) -> dict[str, float]:
    """One worker's wall time split three ways: engine code (everything outside storage calls, steps
    included), the storage SDK's own CPU (inside storage calls), and waiting for Azurite to answer."""
    bed.start("dr-like", PROFILE_RUNS)
    acc = {"wall": 0.0, "cpu": 0.0}
    rt = bed.engine.runtime
    rt.store, rt.queue = _Timed(rt.store, acc), _Timed(rt.queue, acc)
    wall = time.perf_counter()
    Driver(bed.engine, workers=1).drain(deadline_s=600)
    wall = time.perf_counter() - wall
    return {
        "share_engine_code": round((wall - acc["wall"]) / wall, 3),
        "share_sdk_cpu": round(acc["cpu"] / wall, 3),
        "share_waiting_on_azurite": round((acc["wall"] - acc["cpu"]) / wall, 3),
    }


_PROFILE_GROUPS = (
    ("ours", (f"{ROOT}/lib/", f"{ROOT}/bench/")),
    ("azure_sdk", ("/azure/",)),
    ("http_client", ("/requests/", "/urllib3/", "/http/client.py", "/email/", "/socket.py", "/ssl.py")),
)
_WAITS = ("recv", "send", "select", "poll", "connect", "acquire")


def _profile(bed: _Bed) -> dict[str, float]:
    """Self time (cProfile tottime) by package: which code the CPU is spent in."""
    bed.start("dr-like", PROFILE_RUNS)
    profiler = cProfile.Profile()
    profiler.enable()
    Driver(bed.engine, workers=1).drain(deadline_s=600)
    profiler.disable()
    stats = pstats.Stats(profiler)
    shares = dict.fromkeys([g for g, _ in _PROFILE_GROUPS] + ["io_wait", "stdlib_other"], 0.0)
    total = 0.0
    for (filename, _line, function), row in stats.stats.items():  # type: ignore[attr-defined]  # typeshed omits pstats.Stats.stats
        tottime = float(row[2])
        total += tottime
        group = next((g for g, marks in _PROFILE_GROUPS if any(m in filename for m in marks)), "stdlib_other")
        if filename == "~" and any(w in function for w in _WAITS):
            group = "io_wait"  # built-ins blocked on a socket: waiting for Azurite
        shares[group] += tottime
    return {f"profile_share_{k}": round(v / total, 3) for k, v in shares.items()}


def _drain_in_child(connection_string: str, name: str, workers: int, results: Any) -> None:
    bed = _Bed(connection_string, name)
    report = Driver(bed.engine, workers=workers).drain(deadline_s=600)
    results.put((report.steps, bed.counter.total()))


def _drive_processes(connection_string: str, runs: int, processes: int, workers: int) -> dict[str, Any]:
    """The same load through several driver processes (no shared GIL), to find Azurite's ceiling."""
    bed = _Bed(connection_string)
    bed.start("dr-like", runs)
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    children = [
        ctx.Process(target=_drain_in_child, args=(connection_string, bed.name, workers, results))
        for _ in range(processes)
    ]
    azurite_before, started = _azurite_cpu_s(), time.perf_counter()
    for child in children:
        child.start()
    outcomes = [results.get(timeout=600) for _ in children]
    wall = time.perf_counter() - started
    for child in children:
        child.join()
    transitions = sum(steps for steps, _ in outcomes)
    if transitions != runs * TRANSITIONS["dr-like"]:
        raise RuntimeError(f"{processes} processes: {transitions} transitions")
    return {
        "transitions_per_s": round(transitions / wall, 1),
        "tx_per_transition": round(sum(tx for _, tx in outcomes) / transitions, 3),
        "azurite_cpu_share": round((_azurite_cpu_s() - azurite_before) / wall, 3),
    }


def _azurite_cpu_s() -> float:
    """CPU seconds (user + system) used so far by our child processes that are Node (Azurite)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        comm_end = stat.rindex(")")
        comm = stat[stat.index("(") + 1 : comm_end]
        fields = stat[comm_end + 2 :].split()
        if int(fields[1]) == os.getpid() and "node" in comm:
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def main() -> dict[str, Any]:
    with running_azurite() as azurite:
        conn = azurite.connection_string
        _drive(_Bed(conn), "dr-like", 10, 1)  # warm-up: connections, imports, Azurite's JIT
        one = _drive(_Bed(conn), "dr-like", RUNS, 1)
        eight = _drive(_Bed(conn), "dr-like", RUNS, 8)
        polls = _drive(_Bed(conn), "poll-only", RUNS, 1)
        nexts = _drive(_Bed(conn), "next-only", RUNS, 1)
        hosted_modes = {mode: _hosted(conn, HOSTED_RUNS, mode) for mode in HOST_MODES}
        hosted = hosted_modes["lease_in_checkpoint"]
        hosted_polls = _hosted(conn, HOSTED_RUNS, workflow="poll-only")
        profile = _profile(_Bed(conn))
        split = _split(_Bed(conn))
        two_procs = _drive_processes(conn, RUNS, processes=2, workers=4)
    return {
        "bench": "engine",
        "transitions_per_s_1w": one["transitions_per_s"],
        "transitions_per_s_8w": eight["transitions_per_s"],
        "storage_tx_per_transition": one["tx_per_transition"],
        "storage_tx_per_transition_8w": eight["tx_per_transition"],
        "breakdown_per_transition_1w": one["by_kind"],
        "breakdown_per_transition_8w": eight["by_kind"],
        "transitions_per_s_2proc_x4w": two_procs["transitions_per_s"],
        "azurite_cpu_share_2proc": two_procs["azurite_cpu_share"],
        "poll_only_tx_per_transition": polls["tx_per_transition"],
        "poll_only_breakdown": polls["by_kind"],
        "next_only_tx_per_transition": nexts["tx_per_transition"],
        "functions_host_tx_per_transition": hosted["tx_per_transition"],
        "functions_host_breakdown": hosted["by_kind"],
        "functions_host_transitions_per_s": hosted["transitions_per_s"],
        "functions_host_poll_only_tx_per_transition": hosted_polls["tx_per_transition"],
        "functions_host_options_tx_per_transition": {m: r["tx_per_transition"] for m, r in hosted_modes.items()},
        "functions_host_options_breakdown": {m: r["by_kind"] for m, r in hosted_modes.items()},
        "start_tx_per_run": round(one["start_tx_per_run"], 3),
        "azurite_cpu_share_1w": one["azurite_cpu_share"],
        "azurite_cpu_share_8w": eight["azurite_cpu_share"],
        "python_cpu_share_1w": one["python_cpu_share"],
        "python_cpu_share_8w": eight["python_cpu_share"],
        **split,
        **profile,
        "runs": RUNS,
        "transitions_per_run": TRANSITIONS["dr-like"],
        "cpus": os.cpu_count(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }


if __name__ == "__main__":
    print(json.dumps(main()))
