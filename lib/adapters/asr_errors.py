"""azure-core exceptions → the domain's typed Site Recovery errors.

By the time an exception reaches here azure-core's RetryPolicy has already retried it (429/5xx and
connection errors, honouring Retry-After), so what is left is final for this call.

Permanent causes are told apart from weather: a host that does not resolve, a refused connection, an
untrusted certificate (or an unusable CA bundle file), 401/403, and a 404 on the item or plan a call is
about become ``ConfigurationError`` / ``TargetNotFound``; 429 and 5xx stay ``Throttled`` / transient.
"""

from __future__ import annotations

import re
import socket
import ssl
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)

from lib.domain.errors import (
    ConfigurationError,
    ConfigurationProblem,
    OperationNotAllowed,
    ResourceNotFound,
    SiteRecoveryError,
    TargetNotFound,
    Throttled,
    TransientSiteRecoveryError,
)


@dataclass(frozen=True)
class Endpoint:
    """Where the adapter talks to, so a configuration error can name it."""

    url: str = ""
    ca_bundle: str = ""

    @property
    def host(self) -> str:
        parts = urlsplit(self.url)
        return parts.netloc or self.url


# ARM's 403 text names the principal: "The client '<upn or id>' with object id '<oid>' does not have ...".
_PRINCIPAL = re.compile(r"client '([^']+)' with object id '([^']+)'", re.IGNORECASE)
_CONNECTION_TEXT = (
    ("failed to resolve", ConfigurationProblem.DNS),
    ("name or service not known", ConfigurationProblem.DNS),
    ("nodename nor servname", ConfigurationProblem.DNS),
    ("getaddrinfo failed", ConfigurationProblem.DNS),
    ("certificate_verify_failed", ConfigurationProblem.TLS),
    ("certificate verify failed", ConfigurationProblem.TLS),
    ("ca certificate bundle", ConfigurationProblem.TLS),
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


def translate(
    error: AzureError, operation: str, *, endpoint: Endpoint | None = None, target: str = ""
) -> SiteRecoveryError:
    """``target`` names the item or plan the call is about (``recovery plan 'x'``): a 404 on it is permanent."""
    where = endpoint or Endpoint()
    if isinstance(error, HttpResponseError) and error.status_code is not None:
        return _from_status(error, error.status_code, operation, where, target)
    if isinstance(error, ClientAuthenticationError):  # no token at all: the credential itself failed
        return ConfigurationError(
            ConfigurationProblem.AUTHENTICATION, where.host, _one_line(error), operation=operation
        )
    if isinstance(error, ServiceRequestError | ServiceResponseError):
        problem = connection_problem(error)
        if problem is not None:
            return _configuration(problem, error, operation, where)
        return TransientSiteRecoveryError(type(error).__name__, str(error.message), operation=operation)
    return SiteRecoveryError(type(error).__name__, str(error.message), operation=operation)


def _from_status(
    error: HttpResponseError, status: int, operation: str, where: Endpoint, target: str
) -> SiteRecoveryError:
    code, message = _code_and_message(error)
    if status == 400:
        return OperationNotAllowed(code, message, status=status, operation=operation)
    if status in (401, 403):
        problem = ConfigurationProblem.AUTHENTICATION if status == 401 else ConfigurationProblem.AUTHORIZATION
        return ConfigurationError(
            problem, where.host, f"{code}: {message}", code=code, status=status, operation=operation,
            principal=_principal(message),
        )  # fmt: skip
    if status == 404 and target:
        return TargetNotFound(target, code, message, operation=operation)
    if status == 404:
        return ResourceNotFound(code, message, status=status, operation=operation)
    if status == 429:
        return Throttled(code, message, retry_after=_retry_after(error), operation=operation)
    if status >= 500 or status == 408:
        return TransientSiteRecoveryError(code, message, status=status, operation=operation)
    return SiteRecoveryError(code, message, status=status, operation=operation)


def _principal(message: str) -> str:
    found = _PRINCIPAL.search(message)
    return f"{found.group(1)} (object id {found.group(2)})" if found else ""


def _causes(error: BaseException) -> Iterator[BaseException]:
    """The error and everything it wraps (azure-core, requests and urllib3 each wrap the one below)."""
    pending, seen = [error], set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        linked = [current.__cause__, current.__context__, getattr(current, "inner_exception", None)]
        linked += [getattr(current, "reason", None), *current.args]
        pending.extend(e for e in linked if isinstance(e, BaseException))


def connection_problem(error: BaseException) -> ConfigurationProblem | None:
    """DNS, a refused connection or TLS trust: a request that cannot work until the configuration changes."""
    for cause in _causes(error):
        if isinstance(cause, socket.gaierror):
            return ConfigurationProblem.DNS
        if isinstance(cause, ConnectionRefusedError):
            return ConfigurationProblem.CONNECTION_REFUSED
        if isinstance(cause, ssl.SSLCertVerificationError):
            return ConfigurationProblem.TLS
    text = " ".join(str(c) for c in _causes(error)).lower()
    return next((problem for needle, problem in _CONNECTION_TEXT if needle in text), None)


def _configuration(
    problem: ConfigurationProblem, error: BaseException, operation: str, where: Endpoint
) -> ConfigurationError:
    ca_bundle = where.ca_bundle if problem is ConfigurationProblem.TLS else ""
    return ConfigurationError(problem, where.host, _one_line(error), operation=operation, ca_bundle=ca_bundle)


def _one_line(error: BaseException) -> str:
    message = getattr(error, "message", None) or str(error)
    return " ".join(str(message).split())[:300]


@contextmanager
def translated(operation: str, *, endpoint: Endpoint | None = None, target: str = "") -> Iterator[None]:
    try:
        yield
    except AzureError as error:
        raise translate(error, operation, endpoint=endpoint, target=target) from error
    except OSError as error:
        # requests raises a bare OSError for an unusable CA bundle path, before any connection is made.
        problem = connection_problem(error)
        if problem is None:
            raise
        raise _configuration(problem, error, operation, endpoint or Endpoint()) from error
