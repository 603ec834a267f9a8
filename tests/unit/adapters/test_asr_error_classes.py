"""Which azure-core failures are configuration (permanent) and which are weather, decided without a server."""

from __future__ import annotations

import socket
import ssl
from typing import Any

import pytest
from azure.core.exceptions import ClientAuthenticationError, ServiceRequestError
from azure.core.rest import HttpRequest

from lib.adapters.asr_client import ClientOptions, Connection, build_client
from lib.adapters.asr_errors import Endpoint, connection_problem, translate, translated
from lib.adapters.asr_sdk import SdkSiteRecovery
from lib.domain.errors import ConfigurationError, ConfigurationProblem, SiteRecoveryError, TransientSiteRecoveryError
from tests.unit.adapters.fake_transport import FakeTransport, Sent

ARM = Endpoint("https://management.azure.com", "")


def wrapped(cause: BaseException) -> ServiceRequestError:
    try:
        try:
            raise cause
        except BaseException as inner:
            raise ServiceRequestError("could not connect", error=inner) from inner
    except ServiceRequestError as outer:
        return outer


def test_a_credential_that_cannot_get_a_token_is_an_authentication_problem() -> None:
    error = translate(ClientAuthenticationError("DefaultAzureCredential failed"), "list_jobs", endpoint=ARM)
    assert isinstance(error, ConfigurationError) and error.problem is ConfigurationProblem.AUTHENTICATION
    assert error.host == "management.azure.com" and "DefaultAzureCredential failed" in error.detail


@pytest.mark.parametrize(
    ("cause", "problem"),
    [
        (socket.gaierror(-2, "Name or service not known"), ConfigurationProblem.DNS),
        (ConnectionRefusedError(111, "Connection refused"), ConfigurationProblem.CONNECTION_REFUSED),
        (ssl.SSLCertVerificationError(1, "certificate verify failed"), ConfigurationProblem.TLS),
    ],
)
def test_connection_failures_with_a_configuration_cause(cause: BaseException, problem: ConfigurationProblem) -> None:
    assert connection_problem(wrapped(cause)) is problem
    assert isinstance(translate(wrapped(cause), "op", endpoint=ARM), ConfigurationError)


def test_a_reset_connection_stays_transient() -> None:
    error = translate(wrapped(ConnectionResetError(104, "Connection reset by peer")), "op", endpoint=ARM)
    assert isinstance(error, TransientSiteRecoveryError) and not error.permanent


def test_an_unusable_ca_bundle_path_is_a_tls_problem_naming_the_file() -> None:
    where = Endpoint("https://127.0.0.1:1", "/etc/missing/ca.pem")
    with pytest.raises(ConfigurationError) as caught, translated("list_jobs", endpoint=where):
        raise OSError("Could not find a suitable TLS CA certificate bundle, invalid path: /etc/missing/ca.pem")
    assert caught.value.problem is ConfigurationProblem.TLS and caught.value.ca_bundle == "/etc/missing/ca.pem"


def test_other_os_errors_pass_through() -> None:
    with pytest.raises(PermissionError), translated("list_jobs", endpoint=ARM):
        raise PermissionError("not ours")


class Refusing(FakeTransport):
    """Every request fails to connect, for the reason given."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__()
        self.cause = cause

    def send(self, request: HttpRequest, **kwargs: Any) -> Any:
        self.sent.append(Sent(request.method, request.url, None, dict(request.headers)))
        raise wrapped(self.cause)


@pytest.mark.parametrize(
    ("cause", "attempts"),
    [
        (ConnectionRefusedError(111, "Connection refused"), 1),  # configuration: not retried
        (ConnectionResetError(104, "Connection reset by peer"), 4),  # weather: azure-core retries it
    ],
)
def test_configuration_failures_are_not_retried_by_the_sdk(cause: BaseException, attempts: int) -> None:
    transport = Refusing(cause)
    options = ClientOptions(retry_total=3, retry_status=3, retry_backoff_factor=0.0, retry_backoff_max=0.0)
    client = build_client(Connection("sub", "rg", "vault", "https://127.0.0.1:9"), options=options, transport=transport)
    asr = SdkSiteRecovery(lambda: client, resource_group="rg", vault="vault")
    with pytest.raises(SiteRecoveryError):
        asr.list_jobs()
    assert len(transport.sent) == attempts
