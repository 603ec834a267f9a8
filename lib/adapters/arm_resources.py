"""``ResourceLocations`` on azure-core's pipeline: ``GET {arm}{resource id}?api-version=...`` -> ``location``.

The same endpoint, credential (managed identity in Azure, a fixed token for the local emulator), CA bundle and
retry policy as the ASR adapter. ARM wants an api-version the resource's provider knows, so the common types
have theirs below; any other type uses ``DEFAULT_API_VERSION``, and a refusal becomes the reason.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from azure.core.exceptions import AzureError

from lib.adapters.asr_client import ClientOptions, Connection, ObserverPolicy, ResponseObserver, default_credential
from lib.adapters.asr_errors import connection_problem
from lib.ports.resource_locations import LocationUnavailable

if TYPE_CHECKING:
    from azure.core import PipelineClient
    from azure.core.credentials import TokenCredential

__all__ = ["API_VERSIONS", "DEFAULT_API_VERSION", "ArmResourceLocations", "api_version_for"]

# "<provider>/<type>" (lower case) -> an api-version that provider serves.
API_VERSIONS = {
    "microsoft.compute/virtualmachines": "2024-07-01",
    "microsoft.compute/virtualmachinescalesets": "2024-07-01",
    "microsoft.compute/disks": "2024-03-02",
    "microsoft.storage/storageaccounts": "2023-05-01",
    "microsoft.network/loadbalancers": "2024-05-01",
    "microsoft.network/applicationgateways": "2024-05-01",
    "microsoft.network/publicipaddresses": "2024-05-01",
    "microsoft.network/virtualnetworks": "2024-05-01",
    "microsoft.network/networkinterfaces": "2024-05-01",
    "microsoft.web/sites": "2023-12-01",
    "microsoft.sql/servers": "2023-08-01",
    "microsoft.keyvault/vaults": "2023-07-01",
}
DEFAULT_API_VERSION = "2022-09-01"
READ_OPTIONS = ClientOptions(retry_total=3, retry_status=2, retry_backoff_factor=0.5, retry_backoff_max=8.0,
                             connection_timeout=5.0, read_timeout=15.0)  # fmt: skip


def api_version_for(resource_id: str) -> str:
    """The api-version for the resource's type (the provider and type after the last ``providers`` segment)."""
    parts = resource_id.split("?", 1)[0].strip("/").split("/")
    lowered = [p.lower() for p in parts]
    if "providers" not in lowered:
        return DEFAULT_API_VERSION
    index = len(lowered) - 1 - lowered[::-1].index("providers")
    kind = "/".join(lowered[index + 1 : index + 3])
    return API_VERSIONS.get(kind, DEFAULT_API_VERSION)


class ArmResourceLocations:
    def __init__(
        self,
        connection: Connection,
        *,
        credential: TokenCredential | None = None,
        options: ClientOptions = READ_OPTIONS,
        observer: ResponseObserver | None = None,
    ) -> None:
        self._connection = connection
        self._credential = credential
        self._options = options
        self._observer = observer
        self._client: PipelineClient[Any, Any] | None = None

    def _pipeline(self) -> PipelineClient[Any, Any]:
        if self._client is None:
            from azure.core import PipelineClient
            from azure.core.pipeline.policies import (
                BearerTokenCredentialPolicy,
                HeadersPolicy,
                RequestIdPolicy,
                UserAgentPolicy,
            )

            endpoint = self._connection.endpoint.rstrip("/")
            scope = f"{endpoint}/.default"
            credential = self._credential or default_credential(self._connection)
            # Retry before auth, observer last: each attempt gets a token and is reported (as in the ARM SDKs).
            policies: list[Any] = [
                RequestIdPolicy(),
                HeadersPolicy(),
                UserAgentPolicy("site-recovery-autopilot"),
                self._options.retry_policy(),
                BearerTokenCredentialPolicy(credential, scope),
            ]
            if self._observer is not None:
                policies.append(ObserverPolicy(self._observer))
            self._client = PipelineClient(base_url=endpoint, policies=policies)
        return self._client

    def location_of(self, resource_id: str) -> str:
        from azure.core.rest import HttpRequest

        path = "/" + resource_id.strip().strip("/")
        endpoint = self._connection.endpoint.rstrip("/")
        request = HttpRequest("GET", f"{endpoint}{path}?api-version={api_version_for(path)}")
        kwargs: dict[str, Any] = {
            "connection_timeout": self._options.connection_timeout,
            "read_timeout": self._options.read_timeout,
        }
        if self._connection.ca_bundle:
            kwargs["connection_verify"] = self._connection.ca_bundle
        try:
            response = self._pipeline().send_request(request, **kwargs)
        except (AzureError, OSError) as exc:
            problem = connection_problem(exc)
            why = f"{problem.value}: " if problem is not None else ""
            message = " ".join(str(getattr(exc, "message", None) or exc).split())[:300]
            raise LocationUnavailable(resource_id, f"ARM did not answer ({why}{message})",
                                      transient=problem is None) from exc  # fmt: skip
        return _location(resource_id, response.status_code, response.text())


def _location(resource_id: str, status: int, text: str) -> str:
    try:
        body = json.loads(text) if text.strip() else {}
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    if status == 200:
        location = body.get("location")
        if isinstance(location, str) and location.strip():
            return location.strip()
        raise LocationUnavailable(resource_id, "ARM's answer has no location", status=status)
    found = body.get("error")
    error: dict[str, Any] = found if isinstance(found, dict) else {}
    code = str(error.get("code") or f"Http{status}")
    message = " ".join(str(error.get("message") or "").split())[:300]
    transient = status == 429 or status >= 500 or status == 408
    raise LocationUnavailable(resource_id, f"ARM answered {status} {code}" + (f": {message}" if message else ""),
                              status=status, transient=transient)  # fmt: skip
