"""ARM requests per VM per reprotect poll cycle: our vault-wide paged listing vs one GET per VM.

For runs of 10, 100 and 1000 VMs (each the whole vault, as in a regional outage), one ``await_healthy`` poll
of the real workflow step goes through the real adapter to the HTTPS emulator, whose counters give the
number of ARM requests. The naive poller (one GET per item) is measured against the same emulator in the
same run. Prints one JSON line.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from devhost.local import local_settings
from emulator.launcher import running_emulator
from lib.adapters.asr_client import ClientOptions
from lib.adapters.asr_sdk import build_site_recovery
from lib.adapters.log_notifier import LogNotifier
from lib.domain.dr import parse_request
from lib.engine import StepContext
from lib.workflows.deps import DrDeps
from lib.workflows.health import await_healthy
from lib.workflows.runstate import RunState
from lib.workflows.vmstate import VmProgress

SIZES = (10, 100, 1000)
PAGE_SIZE = 50


class _NoLocks:
    def acquire(self, names: Any, run_id: str, ttl: Any) -> dict[str, str]:
        return {}

    def release(self, names: Any, run_id: str) -> None:
        return None


class _NoProbe:
    def check(self, url: str) -> Any:
        raise AssertionError("not used")


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
        deps = DrDeps(asr=asr, locks=_NoLocks(), notifier=LogNotifier(), probe=_NoProbe())
        items = asr.list_protected_items()
        request = parse_request("failover", {"vms": vms}).to_json()
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


def main() -> dict[str, Any]:
    runs = [_measure(size) for size in SIZES]
    return {"bench": "reprotect-poll", "page_size": PAGE_SIZE, "runs": runs}


if __name__ == "__main__":
    print(json.dumps(main()))
