"""The ComputeUsages port over plain ARM GETs with azure-core (no compute SDK: one read does not justify
azure-mgmt-compute's import cost). Same endpoint, credential, CA bundle and retry policy as the ASR client."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from azure.core import PipelineClient
from azure.core.pipeline.policies import BearerTokenCredentialPolicy, HeadersPolicy
from azure.core.rest import HttpRequest

from lib.adapters.asr_client import ClientOptions, Connection, default_credential
from lib.adapters.asr_errors import Endpoint, translated
from lib.ports.compute import Usage
from lib.settings import Settings

__all__ = ["API_VERSION", "ArmComputeUsages", "build_compute_usages", "usages_from_json"]

API_VERSION = "2024-07-01"
_MAX_PAGES = 20  # a region has a few dozen counters; a nextLink loop must not run forever


def usages_from_json(body: Any) -> list[Usage]:
    values = body.get("value") if isinstance(body, dict) else None
    usages = []
    for entry in values or ():
        name = (entry.get("name") or {}).get("value") if isinstance(entry, dict) else None
        if name:
            usages.append(Usage(str(name), int(entry.get("currentValue") or 0), int(entry.get("limit") or 0)))
    return usages


class ArmComputeUsages:
    def __init__(self, connect: Callable[[], PipelineClient[Any, Any]], connection: Connection) -> None:
        self._connect = connect
        self._connection = connection
        self._client: PipelineClient[Any, Any] | None = None
        self._lock = threading.Lock()

    @property
    def client(self) -> PipelineClient[Any, Any]:
        with self._lock:
            if self._client is None:
                self._client = self._connect()
        return self._client

    def list_usages(self, region: str) -> list[Usage]:
        c = self._connection
        url: str | None = (
            f"{c.endpoint.rstrip('/')}/subscriptions/{quote(c.subscription_id)}/providers/Microsoft.Compute"
            f"/locations/{quote(region)}/usages?api-version={API_VERSION}"
        )
        usages: list[Usage] = []
        endpoint = Endpoint(c.endpoint, c.ca_bundle)
        with translated(f"list_usages {region}", endpoint=endpoint, target=f"compute usages of {region!r}"):
            for _ in range(_MAX_PAGES):
                if url is None:
                    break
                kwargs: dict[str, Any] = {"connection_verify": c.ca_bundle} if c.ca_bundle else {}
                response = self.client.send_request(HttpRequest("GET", url), **kwargs)
                response.raise_for_status()
                body = response.json()
                usages.extend(usages_from_json(body))
                url = body.get("nextLink") if isinstance(body, dict) else None
        return usages


def build_compute_usages(settings: Settings, *, options: ClientOptions | None = None) -> ArmComputeUsages:
    connection = Connection.from_settings(settings)

    def connect() -> PipelineClient[Any, Any]:
        scope = "https://management.azure.com/.default"
        if not connection.is_public_cloud and not connection.is_local:
            scope = connection.endpoint.rstrip("/") + "/.default"  # sovereign clouds
        policies = [
            HeadersPolicy({"Accept": "application/json"}),
            (options or ClientOptions()).retry_policy(),
            BearerTokenCredentialPolicy(default_credential(connection), scope),
        ]
        return PipelineClient(base_url=connection.endpoint, policies=policies)

    return ArmComputeUsages(connect, connection)
