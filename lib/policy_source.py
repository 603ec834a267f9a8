"""The DR policy the app runs with, read from its settings (``DR_POLICY`` inline, or the file ``DR_POLICY_FILE``).

One reader for every part that needs the policy (the autopilot, the probe and drill timers, readiness), and light
to import: only ``lib.guard`` (standard library), so a trigger module can name a bad policy at start without
pulling in the storage SDKs.
"""

from __future__ import annotations

import logging
from pathlib import Path

from lib.guard import Policy, PolicyErrors, policy_from_env
from lib.settings import Settings

__all__ = ["load_policy"]

log = logging.getLogger("autopilot.policy")


def _read(path: str) -> str:
    return Path(path).read_text(encoding="utf-8")


def load_policy(settings: Settings, *, quiet: bool = False) -> Policy | PolicyErrors:
    """The policy; a bad one is logged with every bad field (unless ``quiet``) and acts on nothing."""
    policy = policy_from_env(settings.policy_env(), _read)
    if isinstance(policy, PolicyErrors) and not quiet:
        log.error("the DR policy (%s) is invalid, nothing acts automatically: %s", policy.origin,
                  "; ".join(policy.lines))  # fmt: skip
    return policy
