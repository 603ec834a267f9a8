"""Where the app's tables, queues and blobs live and how it signs in to them (pure: no SDK, no I/O).

The app reads the settings the Functions host reads for its own storage connection ``AzureWebJobsStorage``, so
one set of app settings serves both (Functions docs, "Connecting to host storage with an identity"):

- ``AzureWebJobsStorage``: a connection string (local runs, Azurite). Like the host, an exact match wins over
  the identity-based settings below.
- otherwise the identity-based form: ``AzureWebJobsStorage__tableServiceUri`` / ``__queueServiceUri`` /
  ``__blobServiceUri``, each falling back to ``AzureWebJobsStorage__accountName`` as
  ``https://{account}.{service}.core.windows.net`` (public cloud; elsewhere set the URIs);
  ``AzureWebJobsStorage__credential=managedidentity`` signs in with the managed identity, the user-assigned one
  when ``AzureWebJobsStorage__clientId`` names it (the system-assigned one otherwise, as the host does); with no
  ``__credential`` the app uses DefaultAzureCredential (a developer's sign-in locally), with ``__clientId`` as its
  managed-identity client id.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from lib.settings import Settings

__all__ = [
    "CONNECTION",
    "REQUIRED_SERVICES",
    "SERVICES",
    "IdentityChoice",
    "Service",
    "StorageConfig",
    "StorageConfigError",
    "storage_config",
    "storage_problems",
]

CONNECTION = "AzureWebJobsStorage"
Service = Literal["table", "queue", "blob"]
SERVICES: tuple[Service, ...] = ("table", "queue", "blob")
REQUIRED_SERVICES: tuple[Service, ...] = ("table", "queue")  # runs, history, locks; work items and signals
MANAGED_IDENTITY = "managedidentity"
_ACCOUNT_NAME = re.compile(r"^[a-z0-9]{3,24}$")


class StorageConfigError(ValueError):
    """A storage setting is missing or unusable; ``setting`` names it, ``reason`` says why in plain words (never
    quoting the value: /api/health shows these to anonymous callers)."""

    def __init__(self, setting: str, reason: str, *, missing: bool = False) -> None:
        super().__init__(f"{setting}: {reason}")
        self.setting = setting
        self.reason = reason
        self.missing = missing


def uri_setting(service: Service) -> str:
    return f"{CONNECTION}__{service}ServiceUri"


@dataclass(frozen=True)
class IdentityChoice:
    """Which token credential signs storage requests: ``managedidentity`` (ManagedIdentityCredential) or
    ``default`` (DefaultAzureCredential); ``client_id`` picks a user-assigned identity (empty: not passed)."""

    kind: Literal["managedidentity", "default"]
    client_id: str = ""


@dataclass(frozen=True)
class StorageConfig:
    connection_string: str = ""
    urls: tuple[tuple[Service, str], ...] = ()  # the identity-based form: service -> endpoint URL
    identity: IdentityChoice | None = None

    @property
    def uses_identity(self) -> bool:
        return not self.connection_string

    def url(self, service: Service) -> str:
        """The endpoint of ``service`` in the identity-based form; raises StorageConfigError naming the setting."""
        found = dict(self.urls).get(service)
        if found is None:
            raise StorageConfigError(
                uri_setting(service),
                f"not set, and neither {CONNECTION}__accountName (to derive it) nor an {CONNECTION} connection "
                f"string is set: the app cannot reach its {service} storage",
                missing=True,
            )
        return found


def _https_url(setting: str, raw: str) -> str:
    url = raw.strip().rstrip("/")
    if not url.lower().startswith("https://") or len(url) <= len("https://"):
        raise StorageConfigError(setting, "is not an https:// URL (a token is never sent over plain HTTP)")
    return url


def _urls(settings: Settings) -> tuple[tuple[Service, str], ...]:
    explicit: dict[Service, str] = {
        "table": settings.storage_table_uri,
        "queue": settings.storage_queue_uri,
        "blob": settings.storage_blob_uri,
    }
    account = settings.storage_account_name.strip()
    if account and not _ACCOUNT_NAME.match(account):
        raise StorageConfigError(
            f"{CONNECTION}__accountName", "is not a storage account name (3-24 lowercase letters and digits)"
        )
    urls: list[tuple[Service, str]] = []
    for service in SERVICES:
        if explicit[service].strip():
            urls.append((service, _https_url(uri_setting(service), explicit[service])))
        elif account:
            urls.append((service, f"https://{account}.{service}.core.windows.net"))
    return tuple(urls)


def _identity(settings: Settings) -> IdentityChoice:
    credential = settings.storage_credential.strip()
    client_id = settings.storage_client_id.strip()
    if credential.lower() == MANAGED_IDENTITY:
        return IdentityChoice("managedidentity", client_id)
    if not credential:
        return IdentityChoice("default", client_id)
    raise StorageConfigError(
        f"{CONNECTION}__credential",
        f"is not supported: set '{MANAGED_IDENTITY}', or leave it unset for DefaultAzureCredential",
    )


def storage_config(settings: Settings) -> StorageConfig:
    """The form the settings choose; raises StorageConfigError for a value that cannot work (a missing service
    URL is reported by ``StorageConfig.url`` when that service is used)."""
    if settings.storage_connection.strip():
        return StorageConfig(connection_string=settings.storage_connection.strip())
    return StorageConfig(urls=_urls(settings), identity=_identity(settings))


def storage_problems(settings: Settings) -> list[StorageConfigError]:
    """Everything that keeps the app from its tables and queues, each naming the setting (empty: usable)."""
    try:
        config = storage_config(settings)
    except StorageConfigError as exc:
        return [exc]
    if not config.uses_identity:
        return []
    if not config.urls:
        return [
            StorageConfigError(
                CONNECTION,
                f"not set: give a connection string (local runs, Azurite), or the identity-based settings "
                f"{CONNECTION}__accountName, or {uri_setting('table')} and {uri_setting('queue')} (in Azure, with "
                f"{CONNECTION}__credential={MANAGED_IDENTITY} and {CONNECTION}__clientId)",
                missing=True,
            )
        ]
    problems: list[StorageConfigError] = []
    for service in REQUIRED_SERVICES:
        try:
            config.url(service)
        except StorageConfigError as exc:
            problems.append(exc)
    return problems
