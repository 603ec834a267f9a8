"""``ReportStore`` on Azure Blob storage (Azurite locally). Create-only: ``If-None-Match: *`` (``overwrite=False``)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from azure.storage.blob import ContainerClient

__all__ = ["BlobReportStore"]


class BlobReportStore:
    """``container``: builds the container's client on first use (``StorageClients.container``), so the blob SDK
    is imported only when a report is written or read (cold start)."""

    def __init__(self, container: Callable[[], ContainerClient]) -> None:
        self._make = container
        self._client: ContainerClient | None = None

    def _container(self) -> ContainerClient:
        if self._client is None:
            self._client = self._make()
        return self._client

    def ensure(self) -> None:
        from azure.core.exceptions import ResourceExistsError

        with contextlib.suppress(ResourceExistsError):
            self._container().create_container()

    def put_once(self, name: str, data: bytes, content_type: str) -> bool:
        from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
        from azure.storage.blob import ContentSettings

        settings = ContentSettings(content_type=content_type)
        try:
            try:
                self._container().upload_blob(name, data, overwrite=False, content_settings=settings)
            except ResourceNotFoundError:  # the container is not there yet (storage never provisioned)
                self.ensure()
                self._container().upload_blob(name, data, overwrite=False, content_settings=settings)
        except ResourceExistsError:
            return False
        return True

    def names(self, prefix: str) -> set[str]:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            return set(self._container().list_blob_names(name_starts_with=prefix))
        except ResourceNotFoundError:
            return set()

    def get(self, name: str) -> bytes | None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            return self._container().download_blob(name).readall()
        except ResourceNotFoundError:
            return None
