"""The identity-only posture the issue asks for, read from the Bicep (checkov does not check all of it for Bicep:
flipping ``allowBlobPublicAccess`` to true passes its scan)."""

from __future__ import annotations

from typing import Any

from tests.infra import bicep


def _resource(module: str, name: str) -> dict[str, Any]:
    """The resource's body, under any ``if (...)`` or ``[for ...]`` wrapper."""
    config: dict[str, Any] = bicep.parse(bicep.INFRA / "app" / module)["resources"][name]["config"]
    while "properties" not in config and isinstance(config.get("config"), dict):
        config = config["config"]
    return config


def test_app_storage_is_identity_only() -> None:
    props = _resource("storage.bicep", "account")["properties"]
    assert props["allowSharedKeyAccess"] is False, "shared-key access must be off"
    assert props["minimumTlsVersion"] == "TLS1_2"
    assert props["allowBlobPublicAccess"] is False, "public blob access must be off"
    assert props["supportsHttpsTrafficOnly"] is True


def test_cache_storage_has_no_public_blobs_and_a_firewall() -> None:
    props = _resource("cache-storage.bicep", "account")["properties"]
    assert props["allowBlobPublicAccess"] is False
    assert props["minimumTlsVersion"] == "TLS1_2"
    assert props["networkAcls"] == {"bypass": "AzureServices", "defaultAction": "Deny"}


def test_the_host_uses_identity_based_storage_settings() -> None:
    deployed = set(bicep.deployed_settings())
    assert "AzureWebJobsStorage" not in deployed, "no storage connection string (it would carry a key)"
    assert {
        "AzureWebJobsStorage__credential",
        "AzureWebJobsStorage__clientId",
        "AzureWebJobsStorage__queueServiceUri",
        "AzureWebJobsStorage__tableServiceUri",
        "AzureWebJobsStorage__blobServiceUri",
    } <= deployed
    assert bicep.variable("appSettings")["function"]["parameters"]["arg_1"]["AzureWebJobsStorage__credential"] == (
        "managedidentity"
    )


def test_local_auth_is_off_for_the_topic_and_application_insights() -> None:
    assert _resource("operator-events.bicep", "topic")["properties"]["disableLocalAuth"] is True
    assert _resource("monitoring.bicep", "appInsights")["properties"]["DisableLocalAuth"] is True


def test_the_function_app_runs_python_3_11_on_flex_consumption_from_a_blob_container() -> None:
    plan = _resource("function.bicep", "plan")
    assert plan["sku"] == {"tier": "FlexConsumption", "name": "FC1"}
    config = _resource("function.bicep", "site")["properties"]["functionAppConfig"]
    assert config["runtime"] == {"name": "python", "version": "3.11"}
    assert config["deployment"]["storage"]["type"] == "blobContainer"
    assert config["deployment"]["storage"]["authentication"]["type"] == "UserAssignedIdentity"


def test_easy_auth_requires_entra_id_and_the_app_is_told_so() -> None:
    auth = _resource("function.bicep", "auth")["properties"]
    assert auth["globalValidation"]["requireAuthentication"] is True
    assert auth["identityProviders"]["azureActiveDirectory"]["enabled"] is True
    settings = bicep.variable("appSettings")["function"]["parameters"]["arg_1"]
    assert settings["AUTH_MODE"] == "easyauth"
    roles = _resource("entra.bicep", "application")["appRoles"]
    assert {role["value"] for role in roles} == {"DR.Operator", "DR.Reader"}


ROLE_IDS = {
    "Site Recovery Contributor": "6670b86e-a3f7-4917-ac9b-5d6ab1be4567",
    "Virtual Machine Contributor": "9980e02c-c2be-4d73-94e8-173b1dc7cf3c",
    "Storage Table Data Contributor": "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
    "Storage Queue Data Contributor": "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
    "Storage Blob Data Owner": "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
    "EventGrid Data Sender": "d5a91429-5739-47e2-a06b-3470a27159e7",
    "Monitoring Metrics Publisher": "3913510d-42f4-4e42-8a64-420c390055eb",
    "Reader": "acdd72a7-3c48-4c0b-83ae-f96d4d6c8e8e",
}
BROAD_ROLES = {
    "Owner": "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
    "Contributor": "b24988ac-6180-42a0-ab88-20f7382dd24c",
    "User Access Administrator": "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
}


def test_the_identity_holds_the_listed_roles_and_no_broad_one() -> None:
    role_vars = {
        **bicep.variable("roles", bicep.parse(bicep.INFRA / "app" / "rbac.bicep")),
        **bicep.variable("roles", bicep.parse(bicep.INFRA / "app" / "rbac-app.bicep")),
    }
    granted = set(role_vars.values())
    missing = sorted(name for name, role_id in ROLE_IDS.items() if role_id not in granted)
    assert not missing, f"rbac modules do not grant {missing}"
    assert not granted & set(BROAD_ROLES.values()), "no Owner, Contributor or User Access Administrator"
    assert granted <= set(ROLE_IDS.values()), f"roles beyond the documented list: {granted - set(ROLE_IDS.values())}"


def test_site_recovery_and_vm_roles_are_scoped_to_resource_groups() -> None:
    modules = bicep.parse(bicep.INFRA / "app" / "rbac.bicep")["modules"]
    assert modules["vaultRole"]["config"]["scope"]["function"]["type"] == "resource_group"
    assert modules["vaultRole"]["config"]["params"]["roleDefinitionId"] == {
        "operator": {
            "type": "property_accessor",
            "operands": {"operand_1": "roles", "operand_2": "siteRecoveryContributor"},
        }
    }
