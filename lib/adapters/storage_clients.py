"""The one place that builds the app's storage SDK clients (tables, queues, blobs).

From a connection string (local runs, Azurite) or from the service URLs with a token credential (Azure: the
managed identity), as ``lib.storage_config`` chooses from the settings. The SDKs and azure-identity are
imported when a client is built, not when this module is (Functions cold start). One ``StorageClients`` holds
one credential, so every client of the app shares its token cache.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lib.adapters.credentials import make_credential
from lib.storage_config import IdentityChoice, StorageConfig, storage_config

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from azure.data.tables import TableClient
    from azure.storage.blob import BlobServiceClient, ContainerClient
    from azure.storage.queue import QueueClient

    from lib.settings import Settings

__all__ = ["StorageClients"]


class StorageClients:
    """Builds TableClient / QueueClient / BlobServiceClient for the configured account.

    ``client_kwargs`` go to every client (e.g. a request counter's policies); ``credential`` replaces the one
    the settings choose (a caller that holds its own token credential).
    """

    def __init__(self, config: StorageConfig, *, credential: TokenCredential | None = None, **client_kwargs: Any):
        self.config = config
        self._credential = credential
        self._client_kwargs = client_kwargs

    @classmethod
    def from_settings(cls, settings: Settings, **client_kwargs: Any) -> StorageClients:
        """Raises StorageConfigError (naming the setting) for a value that cannot work."""
        return cls(storage_config(settings), **client_kwargs)

    @classmethod
    def from_connection_string(cls, connection_string: str, **client_kwargs: Any) -> StorageClients:
        return cls(StorageConfig(connection_string=connection_string), **client_kwargs)

    @property
    def credential(self) -> TokenCredential:
        if self._credential is None:
            self._credential = make_credential(self.config.identity or IdentityChoice("default"))
        return self._credential

    def _kwargs(self, extra: dict[str, Any]) -> dict[str, Any]:
        return {**self._client_kwargs, **extra}

    def table(self, name: str, **kwargs: Any) -> TableClient:
        from azure.data.tables import TableClient

        if self.config.connection_string:
            return TableClient.from_connection_string(self.config.connection_string, name, **self._kwargs(kwargs))
        endpoint = self.config.url("table")
        return TableClient(endpoint, name, credential=self.credential, **self._kwargs(kwargs))

    def queue(self, name: str, **kwargs: Any) -> QueueClient:
        from azure.storage.queue import QueueClient

        if self.config.connection_string:
            return QueueClient.from_connection_string(self.config.connection_string, name, **self._kwargs(kwargs))
        endpoint = self.config.url("queue")
        return QueueClient(endpoint, name, credential=self.credential, **self._kwargs(kwargs))

    def blob_service(self, **kwargs: Any) -> BlobServiceClient:
        from azure.storage.blob import BlobServiceClient

        if self.config.connection_string:
            return BlobServiceClient.from_connection_string(self.config.connection_string, **self._kwargs(kwargs))
        return BlobServiceClient(self.config.url("blob"), credential=self.credential, **self._kwargs(kwargs))

    def container(self, name: str, **kwargs: Any) -> ContainerClient:
        """One blob container (e.g. the run reports')."""
        return self.blob_service(**kwargs).get_container_client(name)
