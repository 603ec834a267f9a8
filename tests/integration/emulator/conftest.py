"""Fixtures for tests that drive the ASR emulator (a real subprocess over HTTPS) with the real SDK client.

Most tests run the emulator with a near-frozen clock (``MANUAL``) and move emulated time explicitly with
``emu.advance(seconds)``: intermediate states are then observed deterministically, without wall-clock races.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from emulator.launcher import EmulatorInfo, running_emulator
from tests.integration.emulator.helpers import Client, FakeCredential, SiteRecoveryManagementClient, make_topology

MANUAL = 0.001  # emulated seconds per real second: the clock only moves when a test advances it

EmulatorFactory = Callable[..., EmulatorInfo]


@pytest.fixture
def emulator_factory() -> Iterator[EmulatorFactory]:
    """Start emulators for this test: ``factory(topology=None, time_scale=MANUAL, retry_after=0, **kwargs)``."""
    with contextlib.ExitStack() as stack:

        def start(topology: dict[str, Any] | None = None, **kwargs: Any) -> EmulatorInfo:
            kwargs.setdefault("time_scale", MANUAL)
            kwargs.setdefault("retry_after", 0)
            return stack.enter_context(running_emulator(topology or make_topology(), **kwargs))

        yield start


@pytest.fixture
def emu(emulator_factory: EmulatorFactory) -> EmulatorInfo:
    """Two VMs (vm1, vm2) eastus -> westus and plan 'plan1' with one VM per boot group; manual clock."""
    return emulator_factory()


@pytest.fixture
def client(emu: EmulatorInfo) -> Client:
    return make_client(emu)


def make_client(emu: EmulatorInfo, **kwargs: Any) -> Client:
    kwargs.setdefault("polling_interval", 0.05)
    return SiteRecoveryManagementClient(
        FakeCredential(), emu.subscription_id, base_url=emu.endpoint, connection_verify=emu.ca_bundle, **kwargs
    )
