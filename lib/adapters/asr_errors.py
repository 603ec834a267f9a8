"""azure-core exceptions → the domain's typed Site Recovery errors.

By the time an exception reaches here azure-core's RetryPolicy has already retried it (429/5xx and
connection errors, honouring Retry-After), so what is left is final for this call.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from azure.core.exceptions import AzureError, HttpResponseError, ServiceRequestError, ServiceResponseError

from lib.domain.errors import (
    OperationNotAllowed,
    ResourceNotFound,
    SiteRecoveryError,
    Throttled,
    TransientSiteRecoveryError,
)


def _retry_after(error: HttpResponseError) -> float | None:
    headers: Mapping[str, str] = getattr(error.response, "headers", None) or {}
    value = headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


def _code_and_message(error: HttpResponseError) -> tuple[str, str]:
    """ASR's inner ``details[0]`` code is the specific one (the outer is usually just ``BadRequest``)."""
    odata = error.error
    if odata is None:
        status = error.status_code
        return (f"Http{status}" if status else "HttpError"), (error.reason or str(error.message))
    for detail in odata.details:
        if detail.code:
            return detail.code, detail.message or odata.message or ""
    return odata.code or f"Http{error.status_code}", odata.message or ""


def _translate_http(error: HttpResponseError, status: int, operation: str) -> SiteRecoveryError:
    code, message = _code_and_message(error)
    if status == 400:
        return OperationNotAllowed(code, message, status=status, operation=operation)
    if status == 404:
        return ResourceNotFound(code, message, status=status, operation=operation)
    if status == 429:
        return Throttled(code, message, retry_after=_retry_after(error), operation=operation)
    if status >= 500 or status == 408:
        return TransientSiteRecoveryError(code, message, status=status, operation=operation)
    return SiteRecoveryError(code, message, status=status, operation=operation)


def translate(error: AzureError, operation: str) -> SiteRecoveryError:
    if isinstance(error, HttpResponseError) and error.status_code is not None:
        return _translate_http(error, error.status_code, operation)
    if isinstance(error, ServiceRequestError | ServiceResponseError):
        return TransientSiteRecoveryError(type(error).__name__, str(error.message), operation=operation)
    return SiteRecoveryError(type(error).__name__, str(error.message), operation=operation)


@contextmanager
def translated(operation: str) -> Iterator[None]:
    try:
        yield
    except AzureError as error:
        raise translate(error, operation) from error
