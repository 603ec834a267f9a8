"""Building storage clients and credentials: which SDK client, which URL, which credential class with which client
id. azure-identity's classes are replaced by recording fakes (pure unit tests: nothing is asked for a token)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import azure.identity
import pytest
from azure.core.credentials import AccessToken

from lib.adapters.asr_client import Connection, default_credential
from lib.adapters.credentials import azure_credential, make_credential
from lib.adapters.storage_clients import StorageClients
from lib.settings import PUBLIC_ARM_ENDPOINT, Settings
from lib.storage_config import IdentityChoice, StorageConfigError

ROOT = Path(__file__).resolve().parents[3]
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
CONN = (
    f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={KEY};"
    "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;"
    "TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;"
)


class Recorded:
    """Stands in for an azure-identity credential class; remembers how it was made."""

    made: list[tuple[str, dict[str, Any]]]

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs
        self.made.append((type(self).__name__, kwargs))

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        raise AssertionError("a unit test asked for a token")


@pytest.fixture
def made(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    log: list[tuple[str, dict[str, Any]]] = []
    for name in ("ManagedIdentityCredential", "DefaultAzureCredential"):
        fake = type(name, (Recorded,), {"made": log})
        monkeypatch.setattr(azure.identity, name, fake)
    return log


def test_managed_identity_gets_the_user_assigned_client_id(made: list[tuple[str, dict[str, Any]]]) -> None:
    make_credential(IdentityChoice("managedidentity", "cid-1"))
    make_credential(IdentityChoice("managedidentity", ""))
    assert made == [("ManagedIdentityCredential", {"client_id": "cid-1"}),
                    ("ManagedIdentityCredential", {"client_id": None})]  # fmt: skip


def test_default_credential_passes_a_client_id_only_when_there_is_one(
    made: list[tuple[str, dict[str, Any]]],
) -> None:
    azure_credential("cid-2")
    azure_credential("")  # DefaultAzureCredential then reads AZURE_CLIENT_ID itself; None would override it
    assert made == [("DefaultAzureCredential", {"managed_identity_client_id": "cid-2"}),
                    ("DefaultAzureCredential", {})]  # fmt: skip


def test_arm_credential_uses_azure_client_id_from_the_settings(made: list[tuple[str, dict[str, Any]]]) -> None:
    settings = Settings.from_env({"AZURE_CLIENT_ID": " cid-3 ", "ASR_SUBSCRIPTION_ID": "s"})
    connection = Connection.from_settings(settings)
    assert (connection.client_id, connection.endpoint) == ("cid-3", PUBLIC_ARM_ENDPOINT)
    default_credential(connection)
    assert made == [("DefaultAzureCredential", {"managed_identity_client_id": "cid-3"})]


def test_identity_form_builds_clients_on_the_service_urls_sharing_one_credential(
    made: list[tuple[str, dict[str, Any]]],
) -> None:
    clients = StorageClients.from_settings(Settings.from_env({
        "AzureWebJobsStorage__accountName": "stdr01",
        "AzureWebJobsStorage__credential": "managedidentity",
        "AzureWebJobsStorage__clientId": "cid-4",
    }))  # fmt: skip
    table, queue, blobs = clients.table("drruns"), clients.queue("drwork"), clients.blob_service()
    assert (table.url, table.table_name) == ("https://stdr01.table.core.windows.net", "drruns")
    assert queue.url == "https://stdr01.queue.core.windows.net/drwork"
    assert blobs.url == "https://stdr01.blob.core.windows.net/"
    assert clients.container("reports").url == "https://stdr01.blob.core.windows.net/reports"
    assert made == [("ManagedIdentityCredential", {"client_id": "cid-4"})]  # one credential, one token cache
    assert table.credential is queue.credential is blobs.credential is clients.credential


def test_connection_string_form_uses_the_account_key_and_no_identity(
    made: list[tuple[str, dict[str, Any]]],
) -> None:
    clients = StorageClients.from_settings(Settings.from_env({"AzureWebJobsStorage": CONN}))
    table, queue = clients.table("drruns"), clients.queue("drwork")
    assert table.url.startswith("http://127.0.0.1:10002") and queue.url.startswith("http://127.0.0.1:10001")
    assert "SharedKey" in type(queue.credential).__name__
    assert made == []


def test_a_missing_endpoint_names_its_setting_when_the_client_is_built(
    made: list[tuple[str, dict[str, Any]]],
) -> None:
    clients = StorageClients.from_settings(
        Settings.from_env({"AzureWebJobsStorage__queueServiceUri": "https://q.example.net"})
    )
    assert clients.queue("drwork").url == "https://q.example.net/drwork"
    with pytest.raises(StorageConfigError, match="AzureWebJobsStorage__tableServiceUri"):
        clients.table("drruns")
    with pytest.raises(StorageConfigError, match="AzureWebJobsStorage__credential"):
        StorageClients.from_settings(Settings.from_env({**{"AzureWebJobsStorage__accountName": "st1"},
                                                        "AzureWebJobsStorage__credential": "key"}))  # fmt: skip


def test_importing_the_storage_wiring_loads_no_sdk_or_identity() -> None:
    code = (
        "import sys, lib.adapters.storage_clients, lib.adapters.credentials, lib.storage_config\n"
        "heavy = [m for m in ('azure.identity', 'azure.data.tables', 'azure.storage.queue', 'azure.storage.blob')"
        " if m in sys.modules]\n"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_no_storage_client_is_built_anywhere_else() -> None:
    """The identity-based form only works if every client comes from StorageClients: a connection string used
    elsewhere would leave that part of the app without storage in Azure (shared-key access is off there)."""
    sdk_call = re.compile(r"(?<!StorageClients)\.from_connection_string\(")
    builds, reads = [], []
    for folder in ("lib", "functions", "drctl", "devhost"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel, text = path.relative_to(ROOT).as_posix(), path.read_text(encoding="utf-8")
            if rel != "lib/adapters/storage_clients.py" and sdk_call.search(text):
                builds.append(rel)
            if ".storage_connection" in text:
                reads.append(rel)
    assert builds == []
    # Who may look at the connection string itself: the form's choice, the host's environment, drctl's message.
    assert sorted(reads) == ["devhost/appenv.py", "drctl/errors.py", "lib/storage_config.py"]
