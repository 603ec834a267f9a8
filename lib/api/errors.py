"""Errors as the API answers them: ``{"error": {"code", "message", "field"}}`` with the right status.

Anything a client sent maps to a 4xx here; a 5xx only ever means our side or ASR is in trouble.
"""

from __future__ import annotations

import sys
from typing import Any

from lib.api.http import ApiResponse
from lib.domain.errors import (
    AutopilotError,
    ResourceNotFound,
    SiteRecoveryError,
    Throttled,
    TransientSiteRecoveryError,
    ValidationError,
)
from lib.domain.runs import IllegalTransition
from lib.engine import ContentionExceeded, IdempotencyConflict, LeaseHeld, OperationRefused, RunNotFound

__all__ = ["ApiError", "error_response", "to_api_error"]


class ApiError(AutopilotError):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        *,
        retry_after: int = 0,
        extra: dict[str, Any] | None = None,
    ):
        super().__init__(f"{field}: {message}" if field else message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.retry_after = retry_after
        self.extra = extra or {}  # more fields of the error body (a refusal's reason and choices)


def to_api_error(exc: Exception) -> ApiError | None:
    """The API's answer for an error the application raised on purpose; None for a bug (a 500)."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, ValidationError):
        return ApiError(400, "BadRequest", exc.reason, exc.field)
    if isinstance(exc, RunNotFound):
        return ApiError(404, "RunNotFound", str(exc), "id")
    if isinstance(exc, OperationRefused):
        extra = {"status": exc.status.value, "reason": exc.reason, "choices": list(exc.allowed)}
        return ApiError(409, "StateConflict", str(exc), extra=extra)
    if isinstance(exc, LeaseHeld):
        extra = {"holder": exc.holder, "expiresAt": exc.expires_at.isoformat(), "choices": ["continue"]}
        return ApiError(409, "LeaseHeld", str(exc), retry_after=1, extra=extra)
    if isinstance(exc, IllegalTransition):
        return ApiError(409, "StateConflict", str(exc))
    if isinstance(exc, IdempotencyConflict):
        return ApiError(409, "IdempotencyKeyReused", str(exc), "Idempotency-Key")
    if isinstance(exc, ContentionExceeded):
        return ApiError(409, "Busy", str(exc), retry_after=1)
    return _asr_error(exc) or _storage_error(exc)


def _storage_error(exc: Exception) -> ApiError | None:
    """Storage (tables, queues) that did not answer in time: a 503 the caller retries, never a bare 500. The SDK
    is looked up, not imported: if it is not loaded, nothing it raised can be on its way here."""
    errors = sys.modules.get("azure.core.exceptions")
    if errors is not None and isinstance(exc, errors.AzureError):
        return ApiError(503, "StorageUnavailable", f"storage did not answer: {type(exc).__name__}", retry_after=5)
    return None


def _asr_error(exc: Exception) -> ApiError | None:
    if isinstance(exc, ResourceNotFound):
        return ApiError(404, "NotFound", exc.message)
    if isinstance(exc, Throttled | TransientSiteRecoveryError):
        return ApiError(503, "SiteRecoveryUnavailable", f"ASR is busy or unavailable: {exc}", retry_after=30)
    if isinstance(exc, SiteRecoveryError):
        return ApiError(502, "SiteRecoveryError", str(exc))
    return None


def error_response(err: ApiError) -> ApiResponse:
    headers = {"Retry-After": str(err.retry_after)} if err.retry_after else {}
    if err.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="site-recovery-autopilot"'
    body = {"error": {"code": err.code, "message": err.message, "field": err.field, **err.extra}}
    return ApiResponse(err.status, body, headers)
