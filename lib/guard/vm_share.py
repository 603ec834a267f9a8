"""Resource Health of the protected VMs themselves: one VM down is that VM's problem, a large share of a region's
protected VMs down is the region's. ``vm_share_signal`` turns the latest availability of each protected VM into a
region-level ``resource-health`` signal when the unavailable share reaches the policy's ``unavailableVmShare``,
and a resolved one when it falls below again. It raises a signal only when the state flips.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from lib.signals import RegionHealthSignal, SignalState, Source

__all__ = ["VmAvailability", "unavailable_share", "vm_share_signal"]


@dataclass(frozen=True)
class VmAvailability:
    available: bool
    at: datetime  # the time of the report this comes from


def unavailable_share(protected: Sequence[str], latest: Mapping[str, VmAvailability]) -> float:
    """The share of ``protected`` VMs (names, any case) whose latest report says unavailable; a VM with no report
    counts as available: silence is not an outage."""
    names = {p.lower() for p in protected}
    if not names:
        return 0.0
    known = {k.lower(): v for k, v in latest.items()}
    down = sum(1 for n in names if n in known and not known[n].available)
    return down / len(names)


def vm_share_signal(
    region: str,
    protected: Sequence[str],
    latest: Mapping[str, VmAvailability],
    threshold: float,
    active_since: datetime | None,
) -> RegionHealthSignal | None:
    """The signal for ``region`` when its state flips, else None. ``active_since``: when the last active signal
    of this kind was raised (None: not active), which the caller keeps; it names the incident."""
    share = unavailable_share(protected, latest)
    reached = share >= threshold and share > 0
    if reached == (active_since is not None):
        return None
    wanted = {p.lower() for p in protected}
    at = max((v.at for k, v in latest.items() if k.lower() in wanted), default=None)
    if at is None:
        return None
    since = at if active_since is None else active_since
    incident = f"resource-health:vm-share:{region}@{since.isoformat()}"
    state = SignalState.ACTIVE if reached else SignalState.RESOLVED
    return RegionHealthSignal(
        source=Source.RESOURCE_HEALTH,
        incident=incident,
        notification=f"{incident}:{state.value}",
        state=state,
        at=at,
        regions=(region,),
        health="Unavailable" if reached else "Available",
        title=f"{share:.0%} of the protected VMs in {region} are unavailable (threshold {threshold:.0%})",
    )
