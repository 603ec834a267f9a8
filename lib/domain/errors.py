"""Typed errors with structured fields: callers branch on the type, operators read the fields."""

from __future__ import annotations


class AutopilotError(Exception):
    """Base of every error this application raises on purpose."""


class SiteRecoveryError(AutopilotError):
    """ASR refused or failed an operation. ``code``/``message`` are ASR's own (inner code when present)."""

    def __init__(self, code: str, message: str, *, status: int | None = None, operation: str = "") -> None:
        super().__init__(f"{operation + ': ' if operation else ''}ASR {code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.operation = operation


class OperationNotAllowed(SiteRecoveryError):
    """The item/plan is not in a state that allows the operation (HTTP 400 from ASR)."""


class ResourceNotFound(SiteRecoveryError):
    """The item, plan or job does not exist (HTTP 404)."""


class Throttled(SiteRecoveryError):
    """Retries were exhausted on 429; ``retry_after`` is the server's last hint in seconds."""

    def __init__(self, code: str, message: str, *, retry_after: float | None = None, operation: str = "") -> None:
        super().__init__(code, message, status=429, operation=operation)
        self.retry_after = retry_after


class TransientSiteRecoveryError(SiteRecoveryError):
    """5xx or a connection failure that survived the SDK's retries; safe to try again later."""


class ValidationError(AutopilotError):
    """Bad input from a caller: ``field`` names what is wrong and ``reason`` says why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
