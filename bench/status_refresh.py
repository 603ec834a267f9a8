"""ARM reads per 100 refreshes of ``GET /api/status`` (what a dashboard costs the subscription's read budget).

On a private Azurite and the HTTPS ASR emulator (120 VMs, 3 pages of the vault-wide listing), the app's status
handler answers 100 refreshes, side by side: with the default cache (STATUS_CACHE_SECONDS=30, the refreshes
falling inside one window) and with the cache off (0). ARM reads are counted at the emulator. Prints one JSON
line: reads per 100 refreshes for each, by route, and the median handler time.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from devhost.azurite import running_azurite
from devhost.local import local_settings
from emulator.launcher import running_emulator
from lib.api.auth import Principal
from lib.api.http import ApiRequest
from lib.api.status import get_status
from lib.bootstrap import build

VMS = 120
REFRESHES = 100
TOPOLOGY = {
    "subscriptionId": "6f4e2a10-0000-4000-8000-00000000a5a5", "resourceGroup": "rg-dr", "vault": "vault-dr",
    "primaryRegion": "eastus", "recoveryRegion": "westus", "vms": [f"vm{i:03d}" for i in range(VMS)],
}  # fmt: skip


def _case(connection: str, emu: Any, name: str, cache_seconds: float) -> dict[str, Any]:
    settings = local_settings(emu, connection, work_queue=name, runs_table=f"{name}runs",
                              run_index_table=f"{name}idx", locks_table=f"{name}locks",
                              readiness_table=f"{name}rd", status_cache_seconds=cache_seconds)  # fmt: skip
    app = build(settings)
    app.ensure_storage()
    who = Principal("bench", roles=frozenset({"DR.Reader"}))
    get_status(app, who, ApiRequest("GET"))  # builds the wiring; its reads are not counted
    app.parts["monitoring"].status.clear()  # start every case from a cold cache
    emu.reset_requests()
    times = []
    for _ in range(REFRESHES):
        started = time.perf_counter()
        get_status(app, who, ApiRequest("GET"))
        times.append(time.perf_counter() - started)
    counts = emu.requests_count()
    return {"cache_seconds": cache_seconds, "arm_reads_per_100": counts["total"] * 100 // REFRESHES,
            "by_route": {k.rsplit("/", 1)[-1]: v for k, v in counts["byRoute"].items()},
            "median_ms": round(statistics.median(times) * 1000, 2)}  # fmt: skip


def main() -> dict[str, Any]:
    with running_azurite() as azurite, running_emulator(TOPOLOGY, time_scale=1.0) as emu:
        cached = _case(azurite.connection_string, emu, "stcached", 30.0)
        uncached = _case(azurite.connection_string, emu, "stnocache", 0.0)
    return {"bench": "status_refresh", "vms": VMS, "refreshes": REFRESHES, "cached": cached, "uncached": uncached}


if __name__ == "__main__":
    import json

    print(json.dumps(main()))
