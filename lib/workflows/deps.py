"""What the DR workflows need from the outside world, wired by ``lib.bootstrap``."""

from __future__ import annotations

from dataclasses import dataclass

from lib.ports.locks import ItemLocks
from lib.ports.notifier import Notifier
from lib.ports.probe import HttpProbe
from lib.ports.site_recovery import SiteRecovery


@dataclass(frozen=True)
class DrDeps:
    asr: SiteRecovery  # Azure Site Recovery, through the SDK adapter (or the emulator, or a fake)
    locks: ItemLocks  # per-VM locks: one run at a time works on a VM
    notifier: Notifier  # operator events (Event Grid, or the log)
    probe: HttpProbe  # a drill's application probe
