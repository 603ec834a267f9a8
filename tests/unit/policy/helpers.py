"""Builders for the guard's unit tests: signals, policies and facts in one line each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from lib.guard import Policy, TargetFacts, parse_policy
from lib.signals import Impact, RegionHealthSignal, SignalState, Source

T0 = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)
PLAN = "plan:rp-east"  # the key of the default target


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


def signal(
    at: float = 0,
    *,
    state: str = "active",
    source: Source = Source.SERVICE_HEALTH,
    incident: str = "7K2Q",
    region: str = "eastus",
    services: tuple[str, ...] = (),
    maintenance: bool = False,
    note: str = "",
) -> RegionHealthSignal:
    """A signal at ``T0 + at`` minutes; Service Health ones name ``services`` (default Virtual Machines)."""
    key = f"{source.value}:{incident}"
    impacts: tuple[Impact, ...] = ()
    if source is Source.SERVICE_HEALTH:
        impacts = tuple(Impact(s, (region,)) for s in services or ("Virtual Machines",))
    return RegionHealthSignal(
        source=source,
        incident=key,
        notification=f"{key}:{state}:{at}{note}",
        state=SignalState(state),
        at=minutes(at),
        regions=(region,),
        impacts=impacts,
        maintenance=maintenance,
    )


def policy(kill_switch: bool = False, **region: Any) -> Policy:
    """A valid policy for eastus (recovery plan rp-east, 10 VMs by default facts) with ``region`` overrides."""
    body: dict[str, Any] = {"targets": [{"recoveryPlan": "rp-east"}], "mode": "auto", **region}
    parsed = parse_policy_data({"killSwitch": kill_switch, "regions": {"eastus": body}})
    return parsed


def parse_policy_data(data: dict[str, Any]) -> Policy:
    import json

    parsed = parse_policy(json.dumps(data))
    assert isinstance(parsed, Policy), parsed
    return parsed


def facts(**changes: Any) -> dict[str, TargetFacts]:
    return {PLAN: TargetFacts(**{"vm_count": 10, **changes})}
