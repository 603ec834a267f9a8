"""Where the status view reads recent policy decisions from. The decision store (``lib.autopilot``) plugs in here;
until it is wired, ``NoDecisions`` answers an empty list."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

__all__ = ["DecisionSource", "NoDecisions"]


class DecisionSource(Protocol):
    def recent(self, limit: int) -> list[Mapping[str, Any]]:
        """The newest ``limit`` decisions, newest first, in their stored JSON form (reasons included)."""
        ...


class NoDecisions:
    def recent(self, limit: int) -> list[Mapping[str, Any]]:
        return []
