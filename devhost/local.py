"""Settings for running the app against local stand-ins (Azurite, the ASR emulator)."""

from __future__ import annotations

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
    return replace(base, **overrides)
