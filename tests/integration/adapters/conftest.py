"""The ASR adapter against the HTTPS emulator: real SDK, real TLS (the emulator's CA), real azure-core retries."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

from devhost.local import local_settings
from emulator.launcher import EmulatorError, EmulatorInfo, running_emulator
from lib.adapters.asr_client import ClientOptions
from lib.adapters.asr_sdk import build_site_recovery
from lib.domain.asr import Job, ProtectedItem
from lib.ports.site_recovery import SiteRecovery

# Small backoff keeps retried tests quick; Retry-After from the emulator still governs 429s.
FAST_RETRIES = ClientOptions(retry_total=4, retry_status=3, retry_backoff_factor=0.02, retry_backoff_max=0.2)
TIME_SCALE = 600.0  # the harness's emulated clock runs this much faster than real time


@dataclass
class Harness:
    emu: EmulatorInfo
    asr: SiteRecovery
    seen: list[tuple[str, str, int]] = field(default_factory=list)  # (method, url, status) of every attempt

    def statuses(self, method: str, path_part: str) -> list[int]:
        return [s for m, url, s in self.seen if m == method and path_part.lower() in url.lower()]

    def item(self, vm: str) -> ProtectedItem:
        return next(i for i in self.asr.list_protected_items() if i.vm_name == vm)

    def wait_job(self, name: str, timeout: float = 60.0) -> Job:
        """Poll the job through the adapter until it ends (the bound only stops a hung test)."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.asr.get_job(name)
            if job.finished:
                return job
            assert time.monotonic() < deadline, f"job {name} still {job.state} after {timeout}s"
            time.sleep(0.05)


def topology(vms: list[str], plans: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "subscriptionId": "6f4e2a10-0000-4000-8000-00000000a5a5",
        "resourceGroup": "rg-dr",
        "vault": "vault-dr",
        "primaryRegion": "eastus",
        "recoveryRegion": "westus",
        "vms": [{"name": vm, "diskGiB": 8} for vm in vms],
        "recoveryPlans": plans or [],
        **extra,
    }


@contextmanager
def harness(
    topo: dict[str, Any], *, time_scale: float = TIME_SCALE, options: ClientOptions = FAST_RETRIES
) -> Iterator[Harness]:
    """The emulator on a free port and the production adapter pointed at it (as ``build_site_recovery`` does)."""
    with ExitStack() as stack:
        try:
            emu = stack.enter_context(running_emulator(topo, time_scale=time_scale))
        except EmulatorError as exc:  # fail loudly, never skip
            pytest.fail(f"the ASR emulator is required and could not start: {exc}", pytrace=False)
        settings = local_settings(emu)
        seen: list[tuple[str, str, int]] = []
        asr = build_site_recovery(settings, options=options, observer=lambda *a: seen.append(a))
        yield Harness(emu, asr, seen)
