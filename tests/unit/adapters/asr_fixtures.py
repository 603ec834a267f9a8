"""Loading the recorded/spec ASR bodies in ``fixtures/`` (see its README for where each one comes from)."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures"


@cache
def _read(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def load(name: str) -> Any:
    """A fresh deep copy, so a test may edit it."""
    return copy.deepcopy(_read(name))
