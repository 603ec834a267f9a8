"""Loading ASR response bodies: real recordings from ``emulator/templates/``, the rest from ``fixtures/``.

The recorded A2A bodies are kept once, in ``emulator/templates/`` (the integration tests check the emulator's keys
against the same files); this module only reads them as JSON and imports nothing from the emulator. Spec examples
and synthetic bodies that only these tests use live in ``fixtures/`` (see its README for each one's origin).
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures"
RECORDINGS = Path(__file__).resolve().parents[3] / "emulator" / "templates"

# Short test names of the recorded bodies -> their file in emulator/templates/.
RECORDED = {
    "rpi_1_forward_protected": "a2a_rpi_1_forward_protected.cli-2022-08-01",
    "rpi_2_failover_committed": "a2a_rpi_2_unplanned_failover_committed.ps-2024-10-01",
    "rpi_3_reverse_ir": "a2a_rpi_3_reverse_initial_replication_in_progress.cli-2022-08-01",
    "rpi_4_reverse_protected": "a2a_rpi_4_reverse_protected.cli-2022-08-01",
    "plan_a2a": "a2a_recovery_plan_get.cli-2022-08-01",
    "job_switchprotection_inprogress": "a2a_job_switchprotection_inprogress.ps-2024-10-01",
    "job_switchprotection_succeeded": "a2a_job_switchprotection_succeeded.ps-2024-10-01",
    "vault_health": "vault_health_get.net-2021-02-10",
}


def _path(name: str) -> Path:
    if name in RECORDED:
        return RECORDINGS / f"{RECORDED[name]}.json"
    return FIXTURES / f"{name}.json"


@cache
def _read(name: str) -> Any:
    return json.loads(_path(name).read_text())


def load(name: str) -> Any:
    """A fresh deep copy, so a test may edit it."""
    return copy.deepcopy(_read(name))
