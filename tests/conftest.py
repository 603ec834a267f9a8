"""Shared fixtures. Azurite is started here, once per test session (per xdist worker), on free ports."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from devhost.azurite import Azurite, AzuriteError, running_azurite


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    try:
        with running_azurite() as instance:
            yield instance
    except AzuriteError as exc:  # fail loudly, never skip: the setup is supposed to install Azurite
        pytest.fail(f"Azurite is required and could not start: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def storage_connection_string(azurite: Azurite) -> str:
    return azurite.connection_string


@pytest.fixture
def unique_name() -> str:
    """A table/queue-safe name unique to this test (letters and digits, starts with a letter)."""
    return "t" + uuid.uuid4().hex[:20]
