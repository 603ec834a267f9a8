"""drctl's tests run it as a subprocess against Azurite and the HTTPS ASR emulator."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from emulator.launcher import EmulatorInfo, running_emulator
from tests.integration.workflows.conftest import topology


@pytest.fixture
def emulator() -> Iterator[EmulatorInfo]:
    with running_emulator(topology(["web-1", "web-2"]), time_scale=3000) as emu:
        yield emu


@pytest.fixture
def env(emulator: EmulatorInfo, storage_connection_string: str, unique_name: str) -> dict[str, str]:
    return {
        **os.environ,
        "AzureWebJobsStorage": storage_connection_string,
        "ASR_SUBSCRIPTION_ID": emulator.subscription_id,
        "ASR_RESOURCE_GROUP": emulator.resource_group,
        "ASR_VAULT_NAME": emulator.vault,
        "ASR_ARM_ENDPOINT": emulator.endpoint,
        "ASR_CA_BUNDLE": emulator.ca_bundle,
        "DR_WORK_QUEUE": f"{unique_name}q",
        "DR_RUNS_TABLE": f"{unique_name}runs",
        "DR_RUN_INDEX_TABLE": f"{unique_name}idx",
        "DR_LOCKS_TABLE": f"{unique_name}locks",
        "DR_TIMER_SCALE": "0.01",
    }
