"""ARM requests of reprotect polling at 10, 100, 1,000 and 5,000 VMs: ours against one GET per VM every 30 s.

Per size (each the whole vault, as in a regional outage), one ``await_healthy`` poll of the real workflow
step goes through the real adapter to the HTTPS emulator, whose counters give the number of ARM requests
per poll; the naive poller (one GET per item) is measured against the same emulator in the same run.

How often each polls comes from the pure decisions: ours (``lib.domain.polling.health_delay``) replayed on
a reverse replication of ``IR_S`` seconds whose percentage ASR refreshes every 5 minutes; the reference
every 30 s. That gives reads per VM-hour and the notice lag (replication done → the poll that sees it) for
both, side by side. Prints one JSON line.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from devhost.local import local_settings
from emulator.launcher import running_emulator
from lib.adapters.asr_client import ClientOptions
from lib.adapters.asr_sdk import build_site_recovery
from lib.adapters.log_notifier import LogNotifier
from lib.domain.dr import Timing, parse_request
from lib.domain.polling import HEALTH_DENSE_S, STALL_CAP_S, ProgressSample, health_delay
from lib.engine import StepContext
from lib.workflows.deps import DrDeps
from lib.workflows.health import await_healthy
from lib.workflows.runstate import RunState
from lib.workflows.vmstate import VmProgress
from tests.unit.workflows.harness import MemoryLocks, ScriptedProbe

SIZES = (10, 100, 1000, 5000)
IR_S = 60 * 60.0  # one reverse initial replication (ASR: 45 min plus ~20 s per GiB)
REFRESH_S = 300.0  # ASR refreshes monitoringPercentageCompletion every 5 minutes
REFERENCE_POLL_S = 30.0
PAGE_SIZE = 50


def _measure(size: int) -> dict[str, Any]:
    vms = [f"vm-{i:04d}" for i in range(size)]
    topology = {
        "subscriptionId": "6f4e2a10-0000-4000-8000-00000000b001",
        "resourceGroup": "rg-bench",
        "vault": "vault-bench",
        "primaryRegion": "eastus",
        "recoveryRegion": "westus",
        "vms": [{"name": vm} for vm in vms],
        "recoveryPlans": [],
    }
    with running_emulator(topology, time_scale=1.0, page_size=PAGE_SIZE) as emu:
        settings = local_settings(emu)
        asr = build_site_recovery(settings, options=ClientOptions(retry_total=3, retry_backoff_factor=0.05))
        deps = DrDeps(asr=asr, locks=MemoryLocks(), notifier=LogNotifier(), probe=ScriptedProbe())
        items = asr.list_protected_items()
        request = parse_request("failover", {"target": {"vms": vms[:1]}}).to_json()  # the step watches the state's VMs
        run_state = RunState(locked_at=datetime.now(UTC))
        for item in items:
            row = run_state.vms[item.vm_name] = VmProgress.new(item, 0)
            # Watch for the reverse direction so that no VM counts as healthy: every poll is a full cycle.
            row.from_region, row.to_region, row.done = (
                item.recovery_location,
                item.primary_location + "-x",
                ["reprotect"],
            )
        state: dict[str, Any] = run_state.to_json()
        now = datetime.now(UTC)

        emu.reset_requests()
        ctx = StepContext("bench", "failover", "await_healthy", request, state, now, now, now)
        await_healthy(ctx, deps)
        ours = int(emu.requests_count()["total"])

        emu.reset_requests()
        for item in items:
            asr.get_protected_item(item.ref)
        naive = int(emu.requests_count()["total"])
    return {
        "vms": size,
        "requests_per_poll": ours,
        "requests_per_vm_per_poll": ours / size,
        "naive_requests_per_poll": naive,
        "naive_requests_per_vm_per_poll": naive / size,
        "naive_over_ours": naive / ours,
    }


def _cadence(started_at_s: float) -> tuple[int, float]:
    """Replays our reprotect polls over one replication that started ``started_at_s`` before the first poll:
    (polls until it was seen done, notice lag in seconds)."""
    timing = Timing()
    t, polls = 0.0, 0
    first: ProgressSample | None = None
    last: ProgressSample | None = None
    before: datetime | None = None  # the previous read: each new reading changed after it
    origin = datetime(2026, 1, 1, tzinfo=UTC)
    while True:
        polls += 1
        elapsed = t + started_at_s
        if elapsed >= IR_S:
            return polls, elapsed - IR_S
        pct = int(100 * (elapsed - elapsed % REFRESH_S) / IR_S)
        now = origin + timedelta(seconds=t)
        if first is None:
            first = last = ProgressSample(now, pct, before)
        elif last is not None and pct != last.pct:
            last = ProgressSample(now, pct, before)
        before = now
        cap = min(timing.health_poll_max_s, STALL_CAP_S)
        t += health_delay(now, [(first, last)], dense_s=HEALTH_DENSE_S, cap_s=cap, unknown_s=timing.health_poll_s)


def _policy() -> dict[str, Any]:
    """Our cadence against the reference's, over replications seen first at different points of a refresh."""
    runs = [_cadence(offset) for offset in (0.0, 60.0, 120.0, 180.0, 240.0)]
    polls = sum(p for p, _lag in runs) / len(runs)
    lags = sorted(lag for _p, lag in runs)
    return {
        "polls_per_hour": round(polls * 3600 / IR_S, 1),
        "notice_lag_max_s": round(lags[-1], 1),
        "notice_lag_mean_s": round(sum(lags) / len(lags), 1),
        "reference_polls_per_hour": 3600 / REFERENCE_POLL_S,
        "reference_notice_lag_max_s": REFERENCE_POLL_S,
    }


def main() -> dict[str, Any]:
    policy = _policy()
    runs = []
    for size in SIZES:
        measured = _measure(size)
        ours = measured["requests_per_poll"] * policy["polls_per_hour"] / size
        naive = measured["naive_requests_per_poll"] * policy["reference_polls_per_hour"] / size
        runs.append(
            {
                **measured,
                "arm_reads_per_vm_hour": round(ours, 2),
                "reference_arm_reads_per_vm_hour": round(naive, 2),
                "reference_over_ours": round(naive / ours, 1),
            }
        )
    return {"bench": "reprotect-poll", "page_size": PAGE_SIZE, "ir_s": IR_S, "policy": policy, "runs": runs}


if __name__ == "__main__":
    print(json.dumps(main()))
