from __future__ import annotations

import pytest

from lib.settings import PUBLIC_ARM_ENDPOINT, Settings


def test_defaults_and_required_settings_are_named() -> None:
    settings = Settings.from_env({})
    assert settings.asr_arm_endpoint == PUBLIC_ARM_ENDPOINT and not settings.uses_local_emulator
    assert settings.missing() == ["AzureWebJobsStorage", "ASR_SUBSCRIPTION_ID", "ASR_RESOURCE_GROUP", "ASR_VAULT_NAME"]
    assert (settings.work_queue, settings.timer_scale) == ("drwork", 1.0)


def test_cache_storage_accounts_parse_per_region() -> None:
    sa = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/cache"
    settings = Settings.from_env({"ASR_CACHE_STORAGE_ACCOUNTS": f" WestUS={sa}1 ; eastus={sa}2;"})
    assert settings.cache_storage_accounts() == {"westus": f"{sa}1", "eastus": f"{sa}2"}


def test_malformed_cache_storage_accounts_name_the_setting() -> None:
    with pytest.raises(ValueError, match="ASR_CACHE_STORAGE_ACCOUNTS: 'westus' is not"):
        Settings.from_env({"ASR_CACHE_STORAGE_ACCOUNTS": "westus"}).cache_storage_accounts()
