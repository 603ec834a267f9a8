"""Where an Azure resource lives: its ARM ``location``, read once per resource (adapters cache nothing; the
resolver in ``lib.autopilot.resources`` does)."""

from __future__ import annotations

from typing import Protocol

from lib.domain.errors import AutopilotError

__all__ = ["LocationUnavailable", "ResourceLocations"]


class LocationUnavailable(AutopilotError):
    """The location of ``resource_id`` cannot be read: ``reason`` says why for people; ``status`` is ARM's HTTP
    status when there was an answer. ``transient`` (throttled, 5xx, no answer) means a later read may work, so
    the resolver does not remember the failure for long."""

    def __init__(self, resource_id: str, reason: str, *, status: int | None = None, transient: bool = False) -> None:
        super().__init__(f"{resource_id}: {reason}")
        self.resource_id = resource_id
        self.reason = reason
        self.status = status
        self.transient = transient


class ResourceLocations(Protocol):
    def location_of(self, resource_id: str) -> str:
        """The resource's ``location`` as ARM spells it (``eastus``, ``global``); raises ``LocationUnavailable``."""
        ...
