"""Reading a vault's jobs when its history is long: the whole list vs only the jobs since a run began.

The emulator preloads thousands of old jobs (topology ``preloadJobs``), as a long-lived vault has. The adapter
lists them all (what the app did before) and with ``since`` (a ``startTime`` $filter, what the app's adoption path
does now), against the same emulator in the same run; the emulator's counters give the ARM requests. Prints one
JSON line: requests and seconds per way, for each history size.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from devhost.local import local_settings
from emulator.launcher import running_emulator
from lib.adapters.asr_client import ClientOptions
from lib.adapters.asr_sdk import build_site_recovery

SIZES = (1000, 5000)


def _measure(size: int) -> dict[str, Any]:
    topology = {
        "subscriptionId": "6f4e2a10-0000-4000-8000-00000000b002",
        "resourceGroup": "rg-bench",
        "vault": "vault-bench",
        "primaryRegion": "eastus",
        "recoveryRegion": "westus",
        "vms": [{"name": f"vm-{i:02d}"} for i in range(20)],
        "recoveryPlans": [],
        "preloadJobs": size,
    }
    with running_emulator(topology, time_scale=1.0) as emu:
        asr = build_site_recovery(local_settings(emu), options=ClientOptions(retry_total=3))
        figures: dict[str, Any] = {"jobs": size}
        for way, since in (("all", None), ("since_run_start", datetime.now(UTC) - timedelta(minutes=15))):
            emu.reset_requests()
            started = time.perf_counter()
            found = len(asr.list_jobs(since=since))
            figures[way] = {
                "found": found,
                "requests": int(emu.requests_count()["total"]),
                "seconds": round(time.perf_counter() - started, 3),
            }
        return figures


def main() -> dict[str, Any]:
    return {"bench": "job_history", "page_size": 50, "runs": [_measure(size) for size in SIZES]}


if __name__ == "__main__":
    import json

    print(json.dumps(main()))
