"""Azurite over HTTPS with OAuth (``--oauth basic``) and a stand-in managed-identity endpoint: the identity-based
storage form, end to end, with the app's production credential code."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme

from devhost.azurite import Azurite, AzuriteError, AzuriteTls, running_azurite
from tests.integration.identity.fake_identity import FakeIdentityEndpoint, running_identity_endpoint

pytestmark = pytest.mark.integration

CLIENT_ID = "5b1f0c2e-0000-4000-8000-00000000c1d0"  # the user-assigned identity the settings name


@dataclass(frozen=True)
class OAuthAzurite:
    azurite: Azurite
    ca_bundle: Path  # the throwaway CA that signed Azurite's certificate


@pytest.fixture(scope="module")
def oauth_azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OAuthAzurite]:
    folder = tmp_path_factory.mktemp("azurite-tls")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert.cert_chain_pems[0].write_to_path(str(folder / "cert.pem"))
    cert.private_key_pem.write_to_path(str(folder / "key.pem"))
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    try:
        with running_azurite(oauth_tls=AzuriteTls(folder / "cert.pem", folder / "key.pem")) as azurite:
            yield OAuthAzurite(azurite, folder / "ca.pem")
    except AzuriteError as exc:  # fail loudly, never skip: the setup installs Azurite
        pytest.fail(f"Azurite (HTTPS, OAuth) is required and could not start: {exc}", pytrace=False)


@pytest.fixture
def identity(oauth_azurite: OAuthAzurite, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeIdentityEndpoint]:
    """The managed-identity endpoint in this process's environment, as the platform sets it, and Azurite's CA
    trusted by the storage SDKs' HTTP stack (requests reads REQUESTS_CA_BUNDLE)."""
    with running_identity_endpoint() as endpoint:
        for name, value in endpoint.env().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(oauth_azurite.ca_bundle))
        yield endpoint


def identity_env(azurite: Azurite) -> dict[str, str]:
    """The settings main.bicep gives the app, pointed at Azurite: no connection string, no key."""
    return {
        "AzureWebJobsStorage__tableServiceUri": azurite.service_url("table"),
        "AzureWebJobsStorage__queueServiceUri": azurite.service_url("queue"),
        "AzureWebJobsStorage__blobServiceUri": azurite.service_url("blob"),
        "AzureWebJobsStorage__credential": "managedidentity",
        "AzureWebJobsStorage__clientId": CLIENT_ID,
        "AZURE_CLIENT_ID": CLIENT_ID,
    }
