"""Durable state of the signal sources: each probe's streak, and each protected VM's latest availability.

Writes are optimistic: ``etag`` is what the caller read (None: it read nothing, so the write creates), and a
write that lost a race raises ``StaleWrite``; the caller reads again and recomputes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Protocol, TypeVar

from lib.domain.errors import AutopilotError
from lib.guard.probes import ProbeState
from lib.guard.vm_share import VmAvailability

__all__ = [
    "MessageSender",
    "ProbeRecord",
    "ProbeStateStore",
    "ShareState",
    "StaleWrite",
    "Versioned",
    "VmHealthStore",
]


class StaleWrite(AutopilotError):
    """Someone else wrote the entity between our read and our write (ETag mismatch, or it exists already)."""

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} changed since it was read")
        self.what = what


@dataclass(frozen=True)
class ProbeRecord:
    """One probe's state, and the signal messages it decided to send but has not yet seen sent (an outbox: a
    crash between the decision and the send must not lose the signal)."""

    state: ProbeState
    outbox: tuple[str, ...] = ()


@dataclass(frozen=True)
class ShareState:
    """A region's unavailable-VM share: since when it is active (None: not active), and the last flip: the VM
    report (its notification key) whose delivery flipped it and the signal that flip raised, so a redelivery of
    that report (the first delivery's caller may have crashed before acting) gives the same signal again."""

    active_since: datetime | None = None
    flipped_by: str | None = None
    signal: Mapping[str, object] | None = None


T = TypeVar("T")


@dataclass(frozen=True)
class Versioned(Generic[T]):
    value: T
    etag: str | None  # None: not stored yet


class ProbeStateStore(Protocol):
    def load(self, region: str, url: str) -> Versioned[ProbeRecord] | None: ...

    def save(self, record: ProbeRecord, etag: str | None) -> str:
        """Store ``record`` if the stored one still has ``etag``; the new ETag. Raises ``StaleWrite``."""
        ...


class VmHealthStore(Protocol):
    def vm(self, region: str, vm: str) -> Versioned[VmAvailability] | None: ...

    def put_vm(self, region: str, vm: str, availability: VmAvailability, etag: str | None) -> str: ...

    def latest(self, region: str) -> Mapping[str, VmAvailability]:
        """{vm name (lower case): its latest availability} for every VM of ``region`` with a report."""
        ...

    def share(self, region: str) -> Versioned[ShareState]:
        """The region's share state and the ETag to write it back with (None: never written)."""
        ...

    def put_share(self, region: str, state: ShareState, etag: str | None) -> str: ...


class MessageSender(Protocol):
    """The part of a queue the sources use (``StorageWorkQueue`` has it)."""

    def send(self, body: str, delay_s: int = 0) -> str: ...
