"""Where runs, their history, the run index and idempotency keys are kept (Azure Tables in every environment)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from lib.domain.errors import AutopilotError
from lib.domain.runs import HistoryRecord, RunRecord, RunStatus, RunSummary


class RunStoreError(AutopilotError):
    """Base of the errors a run store raises on purpose."""


class StaleRun(RunStoreError):
    """The run changed since ``etag`` was read: someone else wrote first (the ETag guard did its job)."""

    def __init__(self, run_id: str, etag: str) -> None:
        super().__init__(f"run {run_id} changed since it was read (etag {etag})")
        self.run_id = run_id
        self.etag = etag


class RunAlreadyExists(RunStoreError):
    def __init__(self, run_id: str) -> None:
        super().__init__(f"run {run_id} already exists")
        self.run_id = run_id


class EntityTooLarge(RunStoreError):
    """A run or history record does not fit in one table entity even when split across properties."""

    def __init__(self, run_id: str, what: str, size: int, limit: int) -> None:
        super().__init__(f"run {run_id}: {what} needs {size} bytes in one entity; the limit is {limit}")
        self.run_id = run_id
        self.what = what
        self.size = size
        self.limit = limit


class CorruptRun(RunStoreError):
    """A stored run cannot be decoded (e.g. a JSON chunk is missing)."""

    def __init__(self, run_id: str, field: str, reason: str) -> None:
        super().__init__(f"run {run_id}: cannot decode {field}: {reason}")
        self.run_id = run_id
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class Lease:
    owner: str
    until: datetime | None
    msg_id: str
    claims: int


@dataclass(frozen=True)
class Loaded:
    run: RunRecord
    etag: str


@dataclass(frozen=True)
class KeyClaim:
    """Which run an idempotency key belongs to; ``claimed`` is true for the caller that inserted the key."""

    key: str
    run_id: str
    workflow: str
    created_at: datetime
    claimed: bool


@dataclass(frozen=True)
class RunPage:
    items: list[RunSummary]
    continuation: str | None


class RunStore(Protocol):
    def create(self, run: RunRecord, history: Sequence[HistoryRecord]) -> str:
        """Insert the run and its first history atomically; returns the ETag. Raises ``RunAlreadyExists``."""
        ...

    def load(self, run_id: str) -> Loaded | None: ...

    def load_with_history(self, run_id: str) -> tuple[Loaded, list[HistoryRecord]] | None: ...

    def load_status(self, run_id: str) -> RunStatus | None:
        """Just the status (a small read, for listings)."""
        ...

    def save(self, run: RunRecord, etag: str, history: Sequence[HistoryRecord], *, previous: RunRecord | None) -> str:
        """Write the run and append ``history`` in one transaction if the run still has ``etag``.

        ``previous`` is the run as stored under ``etag``; it lets the store skip unchanged large fields.
        Returns the new ETag; raises ``StaleRun`` if the ETag no longer matches.
        """
        ...

    def save_lease(self, run_id: str, etag: str, lease: Lease) -> str:
        """Set only the lease fields if the run still has ``etag``. Returns the new ETag."""
        ...

    def claim_key(self, key: str, run_id: str, workflow: str, created_at: datetime) -> KeyClaim:
        """Insert-only: the first caller binds ``key`` to ``run_id``; later callers learn the bound run."""
        ...

    def index_put(self, summary: RunSummary) -> None: ...

    def index_delete(self, summary: RunSummary) -> None: ...

    def index_list(self, status: RunStatus | None, limit: int, continuation: str | None) -> RunPage:
        """Newest first; ``continuation`` comes from the previous page."""
        ...

    def index_active(self) -> list[RunSummary]:
        """Every index row whose status is not finished (what the janitor inspects)."""
        ...
