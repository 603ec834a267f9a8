"""What the DR workflows need from the outside world, wired by ``lib.bootstrap``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from lib.ports.locks import ItemLocks
from lib.ports.notifier import Notifier
from lib.ports.probe import HttpProbe
from lib.ports.read_budget import ReadBudget
from lib.ports.site_recovery import SiteRecovery

# Starts a linked run: (workflow, input, idempotency key, actor) -> the run's id (``Engine.start``).
StartRun = Callable[[str, Mapping[str, object], str, str], str]


@dataclass(frozen=True)
class DrDeps:
    asr: SiteRecovery  # Azure Site Recovery, through the SDK adapter (or the emulator, or a fake)
    locks: ItemLocks  # per-VM locks: one run at a time works on a VM
    notifier: Notifier  # operator events (Event Grid, or the log)
    probe: HttpProbe  # a drill's application probe
    start_run: StartRun | None = None  # a rollback starts its return trip with it (wired by ``lib.bootstrap``)
    budget: ReadBudget | None = None  # the subscription's ARM read budget (None: unlimited)
    read_meter: Callable[[], int] | None = None  # ARM reads the calling thread made so far (None: estimated)
    # region -> cache (staging) storage account for reprotect (ASR_CACHE_STORAGE_ACCOUNTS); None: not checked
    cache_accounts: Mapping[str, str] | None = None
