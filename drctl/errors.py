"""Errors an operator can cause, as one line each and an exit code (never a traceback)."""

from __future__ import annotations

from collections.abc import Sequence

from lib.domain.errors import AutopilotError, ValidationError
from lib.engine import DeadlineExceeded, RunNotFound
from lib.settings import Settings
from lib.storage_config import StorageConfigError, storage_config

__all__ = ["Interrupted", "describe", "storage_at", "storage_endpoint"]

PROG = "python -m drctl"


class Interrupted(KeyboardInterrupt):
    """Ctrl-C while watching ``run_id``: the driver released the leases of ``released``."""

    def __init__(self, run_id: str, released: Sequence[str]) -> None:
        super().__init__(run_id)
        self.run_id = run_id
        self.released = tuple(released)


def storage_endpoint(connection: str) -> str:
    """The storage account's endpoint named by a connection string (what an operator checks first)."""
    parts = dict(p.split("=", 1) for p in connection.split(";") if "=" in p)
    for key in ("TableEndpoint", "QueueEndpoint", "BlobEndpoint"):
        if parts.get(key):
            return parts[key]
    if connection.strip() == "UseDevelopmentStorage=true":
        return "http://127.0.0.1:10002 (development storage)"
    account, suffix = parts.get("AccountName", "?"), parts.get("EndpointSuffix", "core.windows.net")
    return f"{parts.get('DefaultEndpointsProtocol', 'https')}://{account}.table.{suffix}"


def storage_at(settings: Settings) -> str:
    """Where the app's tables are: from the connection string, or the identity-based table endpoint."""
    if settings.storage_connection.strip():
        return storage_endpoint(settings.storage_connection)
    try:
        return storage_config(settings).url("table")
    except StorageConfigError as exc:
        return f"(unknown: {exc.setting})"


def _interrupted(exc: KeyboardInterrupt) -> str:
    if not isinstance(exc, Interrupted):
        return "drctl: interrupted"
    released = "; its lease was released" if exc.run_id in exc.released else ""
    return (
        f"drctl: stopped watching run {exc.run_id}{released}. The run goes on when driven:"
        f" {PROG} continue {exc.run_id} --wait"
    )


def _storage(exc: BaseException, endpoint: str) -> str | None:
    from azure.core.exceptions import ServiceRequestError  # azure-core comes with the storage SDK

    if not isinstance(exc, ServiceRequestError):
        return None
    cause = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return f"drctl: cannot reach the storage account at {endpoint} ({cause[:200]})"


def describe(exc: BaseException, storage: str) -> tuple[int, str] | None:
    """(exit code, one line) for an error an operator can cause; None for a bug (let it show)."""
    if isinstance(exc, KeyboardInterrupt):
        return 130, _interrupted(exc)
    if isinstance(exc, ValidationError):
        return 2, f"drctl: {exc.field}: {exc.reason}"
    if isinstance(exc, DeadlineExceeded):
        return 1, f"drctl: gave up waiting: {exc} (the run goes on: {PROG} continue {exc.run_id} --wait)"
    if isinstance(exc, RunNotFound | AutopilotError):
        return 1, f"drctl: {exc}"
    unreachable = _storage(exc, storage)
    return (2, unreachable) if unreachable else None
