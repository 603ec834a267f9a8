"""ASR_CACHE_STORAGE_ACCOUNTS as main.bicep builds it is what the app parses, and names the accounts it deploys."""

from __future__ import annotations

import re

from lib.settings import Settings
from tests.infra import bicep

SUBSCRIPTION = "11111111-2222-3333-4444-555555555555"


def _evaluator(protected: list[str], recovery: list[str]) -> bicep.Evaluator:
    params = {
        "environmentName": "prod",
        "location": "centralus",
        "protectedRegions": protected,
        "recoveryRegions": recovery,
        "resourceToken": "abcdefghij123",  # uniqueString() is ARM's; any 13 characters stand in for it
    }
    return bicep.Evaluator(bicep.main(), params, subscription_id=SUBSCRIPTION)


def test_every_protected_and_recovery_region_gets_an_account_the_app_can_parse() -> None:
    evaluator = _evaluator(["eastus", "North Europe"], ["westus", "eastus"])
    setting = evaluator.variable("cacheStorageSetting")
    assert isinstance(setting, str)
    accounts = Settings(asr_cache_storage_accounts=setting).cache_storage_accounts()
    assert sorted(accounts) == ["eastus", "northeurope", "westus"]
    prefix = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-prod/providers/Microsoft.Storage/storageAccounts/"
    for region, account_id in accounts.items():
        assert account_id.startswith(prefix)
        name = account_id.removeprefix(prefix)
        assert re.fullmatch(r"[a-z0-9]{3,24}", name), f"{name} is not a valid storage account name"
        assert name.startswith(f"stc{region[:10]}")


def test_the_setting_names_the_accounts_the_module_loop_deploys() -> None:
    evaluator = _evaluator(["eastus"], ["westus"])
    accounts = evaluator.variable("cacheAccounts")
    assert accounts == [
        {"region": "eastus", "name": "stceastusabcdefghij123"},
        {"region": "westus", "name": "stcwestusabcdefghij123"},
    ]
    module = bicep.main()["modules"]["cacheStorage"]["config"]
    assert module["loop_type"]["detail"] == {"item_name": "account", "array_name": "cacheAccounts"}
    params = module["config"]["params"]
    assert params["name"] == {
        "operator": {"type": "property_accessor", "operands": {"operand_1": "account", "operand_2": "name"}}
    }
    assert params["location"] == {
        "operator": {"type": "property_accessor", "operands": {"operand_1": "account", "operand_2": "region"}}
    }
    assert bicep.variable("appSettings")["function"]["parameters"]["arg_1"]["ASR_CACHE_STORAGE_ACCOUNTS"] == (
        "cacheStorageSetting"
    )


def test_the_alert_watches_the_display_names_of_the_protected_regions() -> None:
    names = _evaluator(["eastus", "westeurope"], ["westus"]).variable("protectedRegionDisplayNames")
    assert names == ["East US", "West Europe"]
