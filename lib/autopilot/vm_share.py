"""Resource Health of the protected VMs -> a region signal: one VM down is that VM's problem; when the unavailable
share of a region's protected VMs reaches the policy's ``unavailableVmShare``, the region counts as down.

``VmShare(signal, policy)`` keeps each protected VM's latest availability durably, ordered by event time (a late,
older report changes nothing; at the same time, available wins: no false failovers), then recomputes the region's
share (``lib.guard.vm_share``, pure) and returns:

* ``None``: the signal is not about a protected VM of a policy region; go on with it as it is;
* a ``RegionHealthSignal`` (source ``resource-health``, incident ``resource-health:vm-share:<region>@<time>``):
  the region's state flipped; decide on it instead of the VM's own signal;
* ``Ignored`` (``vm-share``): recorded toward the share, which did not flip; nothing to decide.

A redelivery of the report that flipped the region gives the same signal again (same keys), so a caller that
crashed before acting on a flip acts on the redelivery; the intake deduplicates the notification.
"""

from __future__ import annotations

from dataclasses import replace

from lib.autopilot.vault_index import ProtectedVm, VaultIndex
from lib.guard.policy import Policy
from lib.guard.vm_share import VmAvailability, unavailable_share, vm_share_signal
from lib.ports.source_state import ShareState, StaleWrite, VmHealthStore
from lib.signals import IgnoreCode, Ignored, RegionHealthSignal, Source

__all__ = ["SHARE_SOURCES", "VmShare", "availability_of", "newer"]

SHARE_SOURCES = frozenset({Source.RESOURCE_HEALTH, Source.HEALTH_RESOURCES})  # per-resource availability reports
ATTEMPTS = 5  # ETag races in a row before giving up (the queue then redelivers the signal)


def availability_of(signal: RegionHealthSignal) -> VmAvailability:
    """Unavailable while the report is active, unless it only says Degraded (the VM still runs)."""
    degraded = (signal.health or "").casefold() == "degraded"
    return VmAvailability(available=not signal.active or degraded, at=signal.at)


def newer(report: VmAvailability, stored: VmAvailability) -> bool:
    """Whether ``report`` replaces ``stored``: later event time; at the same time, available wins."""
    return report.at > stored.at or (report.at == stored.at and report.available and not stored.available)


class VmShare:
    def __init__(self, vault: VaultIndex, store: VmHealthStore) -> None:
        self._vault = vault
        self._store = store

    def __call__(self, signal: RegionHealthSignal, policy: Policy) -> RegionHealthSignal | Ignored | None:
        vm = self._protected_vm(signal)
        if vm is None:
            return None
        region = policy.region(vm.region)
        if region is None:
            return None
        if signal.maintenance and not region.include_maintenance:
            why = f"planned maintenance of protected VM {vm.name}: the policy of {vm.region} does not include it"
            return Ignored(why, IgnoreCode.VM_SHARE, signal.source, signal.notification)
        self._record(vm, availability_of(signal))
        return self._region_signal(vm, signal, region.unavailable_vm_share)

    def _protected_vm(self, signal: RegionHealthSignal) -> ProtectedVm | None:
        """The primary VM of a protected item this per-resource report is about; a recovery-side VM (after a
        failover) counts toward no region's share."""
        if signal.source not in SHARE_SOURCES or not signal.resource_id:
            return None
        vm = self._vault.vm(signal.resource_id)
        return vm if vm is not None and vm.is_primary else None

    def _record(self, vm: ProtectedVm, report: VmAvailability) -> None:
        for _ in range(ATTEMPTS):
            current = self._store.vm(vm.region, vm.name)
            if current is not None and not newer(report, current.value):
                return  # a duplicate or an older report: the stored one stands
            try:
                self._store.put_vm(vm.region, vm.name, report, current.etag if current else None)
                return
            except StaleWrite:
                continue
        raise StaleWrite(f"availability of VM {vm.name}")

    def _region_signal(
        self, vm: ProtectedVm, signal: RegionHealthSignal, threshold: float
    ) -> RegionHealthSignal | Ignored:
        for _ in range(ATTEMPTS):
            current = self._store.share(vm.region)
            latest = self._store.latest(vm.region)
            protected = self._vault.protected_from(vm.region)
            share = unavailable_share(protected, latest)
            derived = vm_share_signal(vm.region, protected, latest, threshold, current.value.active_since)
            if derived is None:
                return _unchanged(vm, signal, current.value, share, threshold)
            derived = replace(derived, raw={"vm": vm.name, "vmNotification": signal.notification, "share": share})
            since = derived.at if derived.active else None
            try:
                self._store.put_share(
                    vm.region, ShareState(since, signal.notification, derived.to_json()), current.etag
                )
            except StaleWrite:
                continue
            return derived
        raise StaleWrite(f"unavailable-VM share of {vm.region}")


def _unchanged(
    vm: ProtectedVm, signal: RegionHealthSignal, state: ShareState, share: float, threshold: float
) -> RegionHealthSignal | Ignored:
    """No flip now. A redelivery of the report that flipped the region last gives that flip's signal again."""
    if state.flipped_by == signal.notification and state.signal is not None:
        return RegionHealthSignal.from_json(state.signal)
    updown = "down" if state.active_since is not None else "up"
    why = (f"protected VM {vm.name}: {share:.0%} of the protected VMs in {vm.region} are unavailable "
           f"(threshold {threshold:.0%}); the region stays {updown}")  # fmt: skip
    return Ignored(why, IgnoreCode.VM_SHARE, signal.source, signal.notification)
