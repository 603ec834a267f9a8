"""Wires the signal sources for the app: the resource -> region resolver, the protected-VM share and the probe
runner, on the ASR adapter, ARM, Table storage and the signals queue. No I/O until a source is used (SDKs are
imported here, when the app first builds them); ``ensure_storage`` creates the tables and the queue."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lib.autopilot.probing import ProbeRunner
from lib.autopilot.resources import ResourceRegions
from lib.autopilot.vault_index import VaultIndex
from lib.autopilot.vm_share import VmShare
from lib.guard.parse import PolicyErrors
from lib.guard.policy import Policy
from lib.policy_source import load_policy as policy_from_settings
from lib.ports.clock import Clock
from lib.ports.probe import HttpProbe
from lib.ports.resource_locations import ResourceLocations
from lib.ports.site_recovery import SiteRecovery
from lib.settings import Settings
from lib.signals import Ignored, RegionHealthSignal

if TYPE_CHECKING:
    from lib.adapters.storage_clients import StorageClients

__all__ = ["Sources", "build_sources", "load_policy"]

PROBE_TIMEOUT_S = 5.0  # a health endpoint that takes longer than this is down for our purpose


def load_policy(env: Mapping[str, str] | None = None) -> Policy | PolicyErrors:
    """The policy from ``DR_POLICY`` / ``DR_POLICY_FILE`` (the process environment by default)."""
    return policy_from_settings(Settings.from_env(env), quiet=True)


@dataclass
class Sources:
    resolve: ResourceRegions
    vm_share: VmShare
    probes: ProbeRunner
    provision: list[Callable[[], None]] = field(default_factory=list, repr=False)  # create a table or queue
    _ready: bool = False

    def intake(self, policy: Policy | PolicyErrors) -> Callable[[RegionHealthSignal], RegionHealthSignal | Ignored]:
        """The resolver the signal intake calls on a signal that names no region: the resource's region, then, for
        a protected VM of a policy region, its region's share (the VM's own report becomes that region's signal
        when the share flips, else an ``Ignored`` saying why). With a bad policy only the region is resolved.
        Raises ``SiteRecoveryError`` / ``StaleWrite`` only from the share (the queue message is then retried)."""

        def resolve(signal: RegionHealthSignal) -> RegionHealthSignal | Ignored:
            placed = self.resolve(signal)
            if isinstance(placed, Ignored) or isinstance(policy, PolicyErrors):
                return placed
            shared = self.vm_share(placed, policy)
            return placed if shared is None else shared

        return resolve

    def ensure_storage(self) -> None:
        """Create the sources' tables and the signals queue (idempotent; once per process)."""
        if self._ready:
            return
        for create in self.provision:
            create()
        self._ready = True


def build_sources(
    settings: Settings,
    *,
    site_recovery: SiteRecovery | None = None,
    locations: ResourceLocations | None = None,
    probe: HttpProbe | None = None,
    clock: Clock | None = None,
    clients: StorageClients | None = None,
) -> Sources:
    from lib.adapters.arm_resources import ArmResourceLocations
    from lib.adapters.asr_client import Connection
    from lib.adapters.asr_sdk import build_site_recovery
    from lib.adapters.clocks import SystemClock
    from lib.adapters.http_probe import UrllibProbe
    from lib.adapters.storage_clients import StorageClients
    from lib.adapters.storage_work_queue import StorageWorkQueue
    from lib.adapters.table_source_state import TableProbeStates, TableVmHealth

    storage = clients or StorageClients.from_settings(settings)
    now = clock or SystemClock()
    connection = Connection.from_settings(settings)
    vault = VaultIndex(site_recovery or build_site_recovery(settings), now)
    vm_health = TableVmHealth.from_clients(storage, settings.vm_health_table)
    probe_states = TableProbeStates.from_clients(storage, settings.probes_table)
    queue = StorageWorkQueue.from_clients(storage, settings.signals_queue)
    return Sources(
        resolve=ResourceRegions(vault, locations or ArmResourceLocations(connection), now),
        vm_share=VmShare(vault, vm_health),
        probes=ProbeRunner(probe or UrllibProbe(timeout_s=PROBE_TIMEOUT_S), probe_states, queue, now),
        provision=[vm_health.create_table, probe_states.create_table, queue.create_queue],
    )
