"""Which storage form the settings choose, which URLs, which credential; errors name the setting."""

from __future__ import annotations

import pytest

from lib.settings import Settings
from lib.storage_config import IdentityChoice, StorageConfig, StorageConfigError, storage_config, storage_problems

CONN = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=k;TableEndpoint=http://127.0.0.1:1/a;"
URIS = {
    "AzureWebJobsStorage__tableServiceUri": "https://acct.table.core.windows.net/",
    "AzureWebJobsStorage__queueServiceUri": "https://acct.queue.core.windows.net/",
    "AzureWebJobsStorage__blobServiceUri": "https://acct.blob.core.windows.net/",
}


def _config(env: dict[str, str]) -> StorageConfig:
    return storage_config(Settings.from_env(env))


def test_a_connection_string_wins_over_identity_settings_as_the_host_does() -> None:
    config = _config({"AzureWebJobsStorage": CONN, **URIS, "AzureWebJobsStorage__credential": "managedidentity"})
    assert config.connection_string == CONN and not config.uses_identity and config.identity is None


def test_service_uris_as_bicep_sets_them_with_the_user_assigned_identity() -> None:
    config = _config({**URIS, "AzureWebJobsStorage__credential": "managedidentity",
                      "AzureWebJobsStorage__clientId": "cid-1"})  # fmt: skip
    assert config.uses_identity
    assert config.url("table") == "https://acct.table.core.windows.net"
    assert config.url("queue") == "https://acct.queue.core.windows.net"
    assert config.url("blob") == "https://acct.blob.core.windows.net"
    assert config.identity == IdentityChoice("managedidentity", "cid-1")


def test_account_name_derives_each_public_cloud_endpoint_and_an_explicit_uri_wins() -> None:
    config = _config({"AzureWebJobsStorage__accountName": "stdr01",
                      "AzureWebJobsStorage__queueServiceUri": "https://q.example.net/"})  # fmt: skip
    assert config.url("table") == "https://stdr01.table.core.windows.net"
    assert config.url("blob") == "https://stdr01.blob.core.windows.net"
    assert config.url("queue") == "https://q.example.net"


def test_credential_choice_follows_the_functions_settings() -> None:
    assert _config(URIS).identity == IdentityChoice("default", "")  # no __credential: DefaultAzureCredential
    assert _config({**URIS, "AzureWebJobsStorage__clientId": "cid"}).identity == IdentityChoice("default", "cid")
    managed = _config({**URIS, "AzureWebJobsStorage__credential": " ManagedIdentity "}).identity
    assert managed == IdentityChoice("managedidentity", "")  # no client id: the system-assigned identity


@pytest.mark.parametrize(
    ("env", "setting", "words"),
    [
        ({**URIS, "AzureWebJobsStorage__credential": "secret"}, "AzureWebJobsStorage__credential", "not supported"),
        ({"AzureWebJobsStorage__tableServiceUri": "http://acct.table.core.windows.net"},
         "AzureWebJobsStorage__tableServiceUri", "not an https:// URL"),
        ({"AzureWebJobsStorage__accountName": "Not_An_Account"}, "AzureWebJobsStorage__accountName",
         "not a storage account name"),
    ],
)  # fmt: skip
def test_unusable_values_are_refused_naming_the_setting_never_the_value(
    env: dict[str, str], setting: str, words: str
) -> None:
    with pytest.raises(StorageConfigError) as refused:
        _config(env)
    assert refused.value.setting == setting and words in refused.value.reason and not refused.value.missing
    assert all(value not in str(refused.value) for value in env.values() if value.strip() not in ("",))


def test_a_service_without_a_uri_names_the_setting_when_it_is_used() -> None:
    config = _config({"AzureWebJobsStorage__queueServiceUri": "https://acct.queue.core.windows.net"})
    with pytest.raises(StorageConfigError, match="AzureWebJobsStorage__tableServiceUri: not set") as refused:
        config.url("table")
    assert refused.value.missing


def test_problems_say_what_is_missing_in_plain_words() -> None:
    [nothing] = storage_problems(Settings.from_env({}))
    assert nothing.setting == "AzureWebJobsStorage" and nothing.missing
    assert "connection string" in nothing.reason and "AzureWebJobsStorage__accountName" in nothing.reason
    [table] = storage_problems(Settings.from_env({"AzureWebJobsStorage__queueServiceUri": "https://q.example.net"}))
    assert table.setting == "AzureWebJobsStorage__tableServiceUri"
    blob_only_missing = {k: v for k, v in URIS.items() if "blob" not in k}  # blobs: named when a blob is used
    assert storage_problems(Settings.from_env(blob_only_missing)) == []
    assert storage_problems(Settings.from_env({"AzureWebJobsStorage": CONN})) == []


def test_missing_accepts_either_form() -> None:
    asr = {"ASR_SUBSCRIPTION_ID": "s", "ASR_RESOURCE_GROUP": "rg", "ASR_VAULT_NAME": "v"}
    assert Settings.from_env({**asr, "AzureWebJobsStorage": CONN}).missing() == []
    assert Settings.from_env({**asr, "AzureWebJobsStorage__accountName": "stdr01"}).missing() == []
    assert Settings.from_env({**asr, **URIS}).missing() == []
    assert Settings.from_env(asr).missing() == ["AzureWebJobsStorage"]
    queue_only = {**asr, "AzureWebJobsStorage__queueServiceUri": "https://q.example.net"}
    assert Settings.from_env(queue_only).missing() == ["AzureWebJobsStorage__tableServiceUri"]


def test_drctl_names_the_storage_it_could_not_reach_in_either_form() -> None:
    from drctl.errors import storage_at

    assert storage_at(Settings.from_env({"AzureWebJobsStorage": CONN})) == "http://127.0.0.1:1/a"
    assert storage_at(Settings.from_env(URIS)) == "https://acct.table.core.windows.net"
    assert storage_at(Settings.from_env({})) == "(unknown: AzureWebJobsStorage__tableServiceUri)"
