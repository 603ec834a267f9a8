"""Typed errors with structured fields: callers branch on the type, operators read the fields."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar


class AutopilotError(Exception):
    """Base of every error this application raises on purpose.

    ``permanent`` errors cannot go away by trying again (a wrong endpoint, a missing plan): the engine fails
    the run at once instead of retrying the step.
    """

    permanent: ClassVar[bool] = False

    def fields(self) -> dict[str, Any]:
        """The structured fields as JSON values (times in ISO 8601, sequences of text as lists), for history
        records and API error bodies (e.g. a 409 naming the holder of a lease and the allowed operations)."""
        out: dict[str, Any] = {}
        for name, value in vars(self).items():
            if name.startswith("_"):
                continue
            if isinstance(value, str | int | float | bool | None):
                out[name] = value
            elif isinstance(value, datetime):
                out[name] = value.isoformat()
            elif isinstance(value, tuple | list) and all(isinstance(v, str) for v in value):
                out[name] = list(value)
        return out


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


class TargetNotFound(ResourceNotFound):
    """The item or recovery plan a run is about does not exist (HTTP 404 on it): trying again cannot help.

    ``resource`` says what was asked for, e.g. ``recovery plan 'plan-x'``.
    """

    permanent = True

    def __init__(self, resource: str, code: str, message: str, *, operation: str = "") -> None:
        SiteRecoveryError.__init__(self, code, message, status=404, operation=operation)
        self.args = (f"{resource} does not exist in the vault ({operation or 'ASR'}: {code}: {message})",)
        self.resource = resource


class ConfigurationProblem(StrEnum):
    DNS = "dns"  # the endpoint's host name does not resolve
    CONNECTION_REFUSED = "connection-refused"  # nothing listens at the endpoint's host and port
    TLS = "tls"  # the server's certificate is not trusted (or the CA bundle file is unusable)
    AUTHENTICATION = "authentication"  # 401: the credential's token was not accepted
    AUTHORIZATION = "authorization"  # 403: the principal lacks a role on the vault


_ADVICE = {
    ConfigurationProblem.DNS: "check ASR_ARM_ENDPOINT",
    ConfigurationProblem.CONNECTION_REFUSED: "check ASR_ARM_ENDPOINT (host and port)",
    ConfigurationProblem.TLS: "check ASR_CA_BUNDLE and ASR_ARM_ENDPOINT",
    ConfigurationProblem.AUTHENTICATION: "check the identity the app signs in with",
    ConfigurationProblem.AUTHORIZATION: "grant the identity a Site Recovery role on the vault",
}


class ConfigurationError(SiteRecoveryError):
    """ASR cannot be reached or refuses us for a reason in our own configuration; trying again cannot help.

    ``problem`` says which; ``host`` is the endpoint's host; ``ca_bundle`` the CA file in use (TLS);
    ``principal`` who we signed in as, when known (401/403); ``detail`` the underlying error in one line.
    """

    permanent = True

    def __init__(
        self,
        problem: ConfigurationProblem,
        host: str,
        detail: str,
        *,
        code: str = "",
        status: int | None = None,
        operation: str = "",
        ca_bundle: str = "",
        principal: str = "",
    ) -> None:
        super().__init__(code or f"Configuration.{problem.value}", detail, status=status, operation=operation)
        self.problem = problem
        self.host = host
        self.detail = detail
        self.ca_bundle = ca_bundle
        self.principal = principal
        self.args = (_plain_words(self),)


def _plain_words(error: ConfigurationError) -> str:
    problem, host, detail, ca_bundle = error.problem, error.host, error.detail, error.ca_bundle
    operation = error.operation
    who = f"principal {error.principal!r}" if error.principal else "the app's identity"
    cause = {
        ConfigurationProblem.DNS: f"the ASR endpoint host {host!r} does not resolve (DNS)",
        ConfigurationProblem.CONNECTION_REFUSED: f"nothing accepts connections at the ASR endpoint {host!r}",
        ConfigurationProblem.TLS: f"the TLS certificate of {host!r} is not trusted with "
        + (f"CA bundle {ca_bundle!r}" if ca_bundle else "the system's CA certificates"),
        ConfigurationProblem.AUTHENTICATION: f"{host!r} did not accept the token of {who} (401)",
        ConfigurationProblem.AUTHORIZATION: f"{who} is not allowed to do this on {host!r} (403)",
    }[problem]
    where = f"{operation}: " if operation else ""
    return f"{where}{cause}; {_ADVICE[problem]} ({detail})"


class ValidationError(AutopilotError):
    """Bad input from a caller: ``field`` names what is wrong and ``reason`` says why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
