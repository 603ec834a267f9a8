"""Settings for running the app against local stand-ins (Azurite, the ASR emulator)."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from emulator.launcher import EmulatorInfo
from lib.settings import Settings


def local_settings(emu: EmulatorInfo, storage_connection: str = "", **overrides: Any) -> Settings:
    """The app's settings pointed at ``emu`` over HTTPS (its throwaway CA) and at a local storage account."""
    base = Settings(
        storage_connection=storage_connection,
        asr_subscription_id=emu.subscription_id,
        asr_resource_group=emu.resource_group,
        asr_vault_name=emu.vault,
        asr_arm_endpoint=emu.endpoint,
        asr_ca_bundle=emu.ca_bundle,
    )
    return replace(base, **{**_autopilot_names(overrides), **overrides})


def _autopilot_names(overrides: dict[str, Any]) -> dict[str, str]:
    """A stack with its own work queue gets its own signals queue and tables too (tests share one Azurite)."""
    queue = str(overrides.get("work_queue") or "")
    stem = re.sub(r"[^a-z0-9]", "", queue.lower())
    if not stem:
        return {}
    return {"signals_queue": f"{stem}sig", "signals_table": f"{stem}sig", "decisions_table": f"{stem}dec",
            "events_queue": f"{stem}ev"}  # fmt: skip
