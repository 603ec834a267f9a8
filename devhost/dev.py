"""``make dev``: Azurite, the ASR emulator on a demo topology (time-scaled) and the devhost, until Ctrl-C.

python -m devhost.dev [--port 7071] [--time-scale 120] [--timer-scale 0.05]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
from types import FrameType
from typing import Any

from devhost.appenv import app_env
from devhost.azurite import running_azurite
from devhost.launcher import running_devhost
from devhost.local import local_settings
from emulator.launcher import running_emulator

__all__ = ["DEMO_TOPOLOGY", "main"]

DEMO_TOPOLOGY: dict[str, Any] = {
    "subscriptionId": "6f4e2a10-0000-4000-8000-00000000dev0",
    "resourceGroup": "rg-dr",
    "vault": "vault-dr",
    "primaryRegion": "eastus",
    "recoveryRegion": "westus",
    "vms": [{"name": "web-1", "diskGiB": 32}, {"name": "web-2", "diskGiB": 32}, {"name": "sql-1", "diskGiB": 64}],
    "recoveryPlans": [{"name": "shop", "groups": [["sql-1"], ["web-1", "web-2"]]}],
}


def _cache_accounts(subscription: str) -> str:
    """Reprotect needs a cache storage account per region; the emulator only checks the id's shape."""
    base = f"/subscriptions/{subscription}/resourceGroups/rg-dr/providers/Microsoft.Storage/storageAccounts"
    return f"eastus={base}/asrcacheeastus;westus={base}/asrcachewestus"


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m devhost.dev", description=__doc__)
    parser.add_argument("--port", type=int, default=7071, help="devhost port (0 = a free one)")
    parser.add_argument("--time-scale", type=float, default=120.0, help="emulated ASR seconds per real second")
    parser.add_argument("--timer-scale", type=float, default=0.05, help="DR_TIMER_SCALE: shrinks workflow waits")
    return parser.parse_args(argv)


def _banner(url: str, key: str, master: str, storage: str, endpoint: str) -> str:
    return "\n".join([
        "",
        "Site Recovery Autopilot, local stack (Ctrl-C stops everything)",
        f"  Functions (devhost): {url}    function key: {key}    master key: {master}",
        f"  ASR emulator:        {endpoint}  (vault-dr: web-1, web-2, sql-1; recovery plan 'shop')",
        f"  Storage (Azurite):   {storage}",
        "  Try:",
        f"    curl -s -H 'x-functions-key: {key}' {url}/api/health",
        f"    curl -s -X POST -H 'x-functions-key: {key}' -H 'Content-Type: application/json' \\",
        f"         -d '{{\"target\": {{\"recoveryPlan\": \"shop\"}}}}' {url}/api/failover",
        "",
    ])  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    stop = threading.Event()

    def handler(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    with contextlib.ExitStack() as stack:
        print("starting Azurite and the ASR emulator...", file=sys.stderr, flush=True)
        azurite = stack.enter_context(running_azurite())
        emu = stack.enter_context(running_emulator(DEMO_TOPOLOGY, time_scale=args.time_scale))
        settings = local_settings(
            emu, azurite.connection_string, timer_scale=args.timer_scale,
            asr_cache_storage_accounts=_cache_accounts(emu.subscription_id),
        )  # fmt: skip
        env = app_env(settings) | {"AUTH_MODE": os.environ.get("AUTH_MODE", "keys")}  # `AUTH_MODE=easyauth make dev`
        host = stack.enter_context(running_devhost(env=env, port=args.port, stderr=sys.stderr.buffer))
        print(
            _banner(host.url, host.function_key, host.master_key, azurite.connection_string, emu.endpoint), flush=True
        )
        stop.wait()
        print("stopping...", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
