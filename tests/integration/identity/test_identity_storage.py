"""The identity-based storage form against Azurite (HTTPS, OAuth): the app's tables, queues and blobs are reached
with bearer tokens from the managed identity named by ``AzureWebJobsStorage__clientId``, with no key anywhere."""

from __future__ import annotations

import uuid

import pytest
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError

from lib.adapters.storage_clients import StorageClients
from lib.adapters.storage_work_queue import StorageWorkQueue
from lib.settings import Settings
from tests.integration.identity.conftest import CLIENT_ID, OAuthAzurite, identity_env
from tests.integration.identity.fake_identity import FakeIdentityEndpoint

pytestmark = pytest.mark.integration

STORAGE = "https://storage.azure.com"


def test_tables_queues_and_blobs_answer_to_the_managed_identity(
    oauth_azurite: OAuthAzurite, identity: FakeIdentityEndpoint
) -> None:
    settings = Settings.from_env(identity_env(oauth_azurite.azurite))
    assert settings.missing() == ["ASR_SUBSCRIPTION_ID", "ASR_RESOURCE_GROUP", "ASR_VAULT_NAME"]
    clients = StorageClients.from_settings(settings)
    name = "t" + uuid.uuid4().hex[:16]

    table = clients.table(name)
    table.create_table()
    table.upsert_entity({"PartitionKey": "p", "RowKey": "r", "Value": 7})
    assert table.get_entity("p", "r")["Value"] == 7

    queue = StorageWorkQueue.from_clients(clients, name)
    queue.create_queue()
    queue.send('{"run_id": "r1", "version": 1}')
    [received] = queue.receive(1, 30)
    assert received.body == '{"run_id": "r1", "version": 1}'

    container = clients.container(name)
    container.create_container()
    container.upload_blob("report.json", b"{}")
    assert container.download_blob("report.json").readall() == b"{}"

    assert identity.requests, "no token was asked for: the requests did not use the identity"
    assert {(r.resource.removesuffix("/.default"), r.client_id, r.header_ok) for r in identity.requests} == {
        (STORAGE, CLIENT_ID, True)
    }
    assert len(identity.requests) == 1  # one credential per StorageClients: one token, cached, for all three


def test_azurite_refuses_a_token_it_should_not_accept(
    oauth_azurite: OAuthAzurite, identity: FakeIdentityEndpoint
) -> None:
    """The check above can fail: Azurite does validate the bearer token (here: the wrong issuer)."""
    identity.issuer = "https://attacker.example/"
    clients = StorageClients.from_settings(Settings.from_env(identity_env(oauth_azurite.azurite)))
    with pytest.raises((ClientAuthenticationError, HttpResponseError)) as refused:
        clients.table("t" + uuid.uuid4().hex[:16]).create_table()
    assert refused.value.status_code in (401, 403)
