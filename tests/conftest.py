"""Shared fixtures. Azurite is started here, once per test session (per xdist worker), on free ports."""

from __future__ import annotations

import json
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from devhost.azurite import Azurite, AzuriteError, running_azurite

# Property tests assert properties, not speed: Hypothesis' per-example deadline (200 ms) and its too-slow health
# check are wall-clock timers, and on a loaded machine under coverage an example took 300-700 ms and failed the
# suite. Performance is measured in bench/, so both are off for every property test (loaded before any test module).
settings.register_profile("suite", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("suite")


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


def computed_once(tmp_path_factory: pytest.TempPathFactory, name: str, compute: Callable[[], dict[str, Any]]) -> Any:
    """``compute()`` once per test session, shared by the xdist workers through a file in the session's temporary
    folder (the first worker computes under a lock, the others read its JSON). For a costly module fixture whose
    tests xdist spreads over workers (the demo, checkov): without this each worker would redo it. A failed
    ``compute()`` leaves nothing behind, so every worker that needs it fails on its own."""
    if "PYTEST_XDIST_WORKER" not in os.environ or sys.platform == "win32":
        return compute()  # one process (or no flock): nothing to share
    import fcntl

    path = tmp_path_factory.getbasetemp().parent / f"{name}.json"  # the session's folder, shared by its workers
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.exists():
            return json.loads(path.read_text())
        data = compute()
        path.write_text(json.dumps(data))
        return data
