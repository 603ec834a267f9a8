"""``DR_TIMER_SCALE`` for the guard: dev, tests and demos shrink the policy's durations like the engine's waits.

The dwell, the cooldown and the drill gate's age are compared with event times, so they are scaled in the policy
the guard weighs (the decision still records the policy's own hash). The approval timeout is not scaled here: it
is the run's pause timeout, which the engine scales itself.
"""

from __future__ import annotations

from dataclasses import replace
from typing import cast

from lib.guard import Policy, PolicyErrors, RegionPolicy

__all__ = ["scaled_policy"]


def _region(rules: RegionPolicy, scale: float) -> RegionPolicy:
    days = rules.require_drill_within_days
    # Fractions of a minute are fine for the guard (it builds timedeltas from them); the int type is the policy's
    # public form, which the hash and GET /api/policy keep.
    return replace(
        rules,
        dwell_minutes=cast(int, rules.dwell_minutes * scale),
        cooldown_minutes=cast(int, rules.cooldown_minutes * scale),
        require_drill_within_days=None if days is None else cast(int, days * scale),
    )


def scaled_policy(policy: Policy | PolicyErrors, scale: float) -> Policy | PolicyErrors:
    if isinstance(policy, PolicyErrors) or scale == 1.0:
        return policy
    return replace(policy, regions={name: _region(rules, scale) for name, rules in policy.regions.items()})
