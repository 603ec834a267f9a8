"""Building the SiteRecoveryManagementClient: credential, endpoint, TLS trust and retry knobs.

Nothing here runs at import time: the SDK (~130 ms) and azure-identity (~170 ms) are imported when a
client is first built, so Functions that never talk to ASR do not pay for them on a cold start.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from azure.core.credentials import AccessToken, AccessTokenInfo, TokenRequestOptions
from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import RetryPolicy, SansIOHTTPPolicy

from lib.adapters.asr_errors import connection_problem
from lib.settings import PUBLIC_ARM_ENDPOINT, Settings

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from azure.mgmt.recoveryservicessiterecovery import SiteRecoveryManagementClient

# (method, url, status) of every HTTP attempt, retries and LRO polls included.
ResponseObserver = Callable[[str, str, int], None]


@dataclass(frozen=True)
class ClientOptions:
    """azure-core RetryPolicy / transport knobs. Retry-After is always honoured by azure-core itself."""

    retry_total: int = 6
    retry_status: int = 4  # bounds retries on 429/5xx (azure-core default 3)
    retry_backoff_factor: float = 0.8
    retry_backoff_max: float = 60.0
    connection_timeout: float = 10.0
    read_timeout: float = 60.0
    polling_interval: float = 30.0  # only used if someone polls an LRO; the adapter never does

    def retry_policy(self) -> RetryPolicy[Any, Any]:
        return ConfigurationAwareRetryPolicy(
            retry_total=self.retry_total,
            retry_status=self.retry_status,
            retry_backoff_factor=self.retry_backoff_factor,
            retry_backoff_max=self.retry_backoff_max,
        )

    def as_kwargs(self) -> dict[str, Any]:
        return {
            "retry_total": self.retry_total,
            "retry_status": self.retry_status,
            "retry_backoff_factor": self.retry_backoff_factor,
            "retry_backoff_max": self.retry_backoff_max,
            "connection_timeout": self.connection_timeout,
            "read_timeout": self.read_timeout,
            "polling_interval": self.polling_interval,
        }


@dataclass(frozen=True)
class Connection:
    subscription_id: str
    resource_group: str
    vault: str
    endpoint: str = PUBLIC_ARM_ENDPOINT
    ca_bundle: str = ""
    client_id: str = ""  # the user-assigned managed identity (AZURE_CLIENT_ID); empty: DefaultAzureCredential's own

    @classmethod
    def from_settings(cls, settings: Settings) -> Connection:
        return cls(
            subscription_id=settings.asr_subscription_id,
            resource_group=settings.asr_resource_group,
            vault=settings.asr_vault_name,
            endpoint=settings.asr_arm_endpoint,
            ca_bundle=settings.asr_ca_bundle,
            client_id=settings.azure_client_id,
        )

    @property
    def is_public_cloud(self) -> bool:
        return self.endpoint.rstrip("/").lower() == PUBLIC_ARM_ENDPOINT

    @property
    def is_local(self) -> bool:
        """The emulator: a loopback endpoint. Only there may a fixed token be sent."""
        host = (urlsplit(self.endpoint).hostname or "").lower()
        return host == "localhost" or host.startswith("127.") or host == "::1"


class StaticTokenCredential:
    """A fixed bearer token for the local emulator, which accepts any token. Never used against Azure."""

    def __init__(self, token: str = "local-emulator-token", lifetime_seconds: int = 24 * 3600) -> None:
        self._token = token
        self._lifetime = lifetime_seconds

    def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        return AccessToken(self._token, int(time.time()) + self._lifetime)

    def get_token_info(self, *scopes: str, options: TokenRequestOptions | None = None) -> AccessTokenInfo:
        return AccessTokenInfo(self._token, int(time.time()) + self._lifetime)


class ConfigurationAwareRetryPolicy(RetryPolicy[Any, Any]):
    """azure-core's RetryPolicy, except that a host that does not resolve, a refused connection or an
    untrusted certificate is not retried: it cannot heal within a call, and retrying only hides the cause
    for a minute of backoff."""

    def increment(self, settings: dict[str, Any], response: Any = None, error: Exception | None = None) -> bool:
        if error is not None and connection_problem(error) is not None:
            return False
        return bool(super().increment(settings, response=response, error=error))


class ObserverPolicy(SansIOHTTPPolicy[Any, Any]):
    """Reports every HTTP attempt (it sits after the retry policy), e.g. so benchmarks can count ARM calls."""

    def __init__(self, observer: ResponseObserver) -> None:
        self._observer = observer

    def on_response(self, request: PipelineRequest[Any], response: PipelineResponse[Any, Any]) -> None:
        self._observer(request.http_request.method, request.http_request.url, response.http_response.status_code)


def default_credential(connection: Connection) -> TokenCredential:
    """The static token for the local emulator; DefaultAzureCredential (the app's managed identity, picked by
    ``AZURE_CLIENT_ID``) anywhere else."""
    if connection.is_local:
        return StaticTokenCredential()
    from lib.adapters.credentials import azure_credential

    return azure_credential(connection.client_id)


def build_client(
    connection: Connection,
    *,
    options: ClientOptions | None = None,
    credential: TokenCredential | None = None,
    observer: ResponseObserver | None = None,
    transport: Any = None,
) -> SiteRecoveryManagementClient:
    from azure.mgmt.recoveryservicessiterecovery import SiteRecoveryManagementClient

    chosen = options or ClientOptions()
    kwargs: dict[str, Any] = chosen.as_kwargs()
    kwargs["retry_policy"] = chosen.retry_policy()
    if connection.ca_bundle:
        kwargs["connection_verify"] = connection.ca_bundle
    if observer is not None:
        kwargs["per_retry_policies"] = [ObserverPolicy(observer)]
    if transport is not None:
        kwargs["transport"] = transport
    if not connection.is_public_cloud and not connection.is_local:
        kwargs["credential_scopes"] = [connection.endpoint.rstrip("/") + "/.default"]  # sovereign clouds
    return SiteRecoveryManagementClient(
        credential or default_credential(connection),
        connection.subscription_id,
        base_url=connection.endpoint.rstrip("/"),
        **kwargs,
    )
