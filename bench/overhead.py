"""Orchestration overhead: wall time of a time-scaled failover → healthy run minus the emulated ASR time.

The run is the real thing (engine on Azurite, the production adapter over HTTPS to the emulator). ASR's own
time is its critical path in emulated time: the span of each phase's jobs (failover, commit, reprotect)
plus the longest reverse initial replication (switch-protection job end → the item's "healthy" VmHealth
event), divided by the time scale. What is left is ours: queue hops, checkpoints, polling cadence.
Prints one JSON line.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from typing import Any

from devhost.azurite import running_azurite
from devhost.local import local_settings
from emulator.launcher import running_emulator
from lib.adapters.asr_client import ClientOptions
from lib.bootstrap import build
from lib.engine import Driver, EngineConfig

VMS = [f"app-{i}" for i in range(6)]
TIME_SCALE = 600.0  # emulated seconds per real second
TIMER_SCALE = 0.01  # workflow waits: a 10 s job poll takes 0.1 s
TIMING = {"job_poll_s": 10, "health_poll_s": 20, "health_poll_max_s": 60}


def _t(value: str | None) -> datetime:
    assert value
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _asr_critical_path(state: dict[str, Any], ir_done: dict[str, datetime]) -> timedelta:
    jobs = state["evidence"]["jobs"].values()
    total = timedelta(0)
    for phase in ("failover", "commit", "reprotect"):
        spans = [(_t(j["start"]), _t(j["end"])) for j in jobs if j["phase"] == phase]
        total += max(e for _s, e in spans) - min(s for s, _e in spans)
    ir = []
    for vm, row in state["vms"].items():
        job = state["jobs"][row["jobs"]["reprotect"]]
        ir.append(ir_done[vm] - _t(job["end"]))
    return total + max(ir)


def main() -> dict[str, Any]:
    topology = {
        "subscriptionId": "6f4e2a10-0000-4000-8000-00000000b002",
        "resourceGroup": "rg-bench",
        "vault": "vault-bench",
        "primaryRegion": "eastus",
        "recoveryRegion": "westus",
        "vms": [{"name": vm, "diskGiB": 32} for vm in VMS],
        "recoveryPlans": [{"name": "app", "groups": [VMS[:2], VMS[2:]]}],
    }
    with running_azurite() as azurite, running_emulator(topology, time_scale=TIME_SCALE) as emu:
        settings = local_settings(emu, azurite.connection_string, timer_scale=TIMER_SCALE)
        app = build(settings, engine_config=EngineConfig(), asr_options=ClientOptions(retry_backoff_factor=0.05))
        app.ensure_storage()
        began = time.perf_counter()
        run_id = app.start("failover", {"plan": "app", "timing": TIMING}).run_id
        run = Driver(app.engine).run_until_finished(run_id, deadline_s=600)
        wall = time.perf_counter() - began
        assert run.status.value == "succeeded", run.error
        events = app.deps.asr.client.replication_events.list(emu.resource_group, emu.vault)  # type: ignore[attr-defined]  # the SDK client behind the port
        ir_done = {
            e.properties.affected_object_friendly_name: e.properties.time_of_occurrence
            for e in events
            if e.properties.event_type == "VmHealth"
        }
        history = app.engine.get(run_id).history
    asr_s = _asr_critical_path(dict(run.state), ir_done).total_seconds() / TIME_SCALE
    return {
        "bench": "overhead",
        "vms": len(VMS),
        "time_scale": TIME_SCALE,
        "timer_scale": TIMER_SCALE,
        "wall_s": round(wall, 3),
        "emulated_asr_s": round(asr_s, 3),
        "overhead_s": round(wall - asr_s, 3),
        "overhead_share": round((wall - asr_s) / wall, 3),
        "transitions": len(history),
        "overhead_per_transition_ms": round(1000 * (wall - asr_s) / max(1, len(history)), 1),
        "scaled_job_poll_s": TIMING["job_poll_s"] * TIMER_SCALE,
    }


if __name__ == "__main__":
    print(json.dumps(main()))
