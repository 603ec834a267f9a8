"""Client construction: which credential goes where, lazy construction, cheap import."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from azure.identity import DefaultAzureCredential

from lib.adapters.asr_client import ClientOptions, Connection, StaticTokenCredential, build_client, default_credential
from lib.adapters.asr_sdk import SdkSiteRecovery, build_site_recovery
from lib.settings import PUBLIC_ARM_ENDPOINT, Settings

ROOT = Path(__file__).resolve().parents[3]


def test_static_token_only_for_a_loopback_endpoint() -> None:
    assert isinstance(default_credential(Connection("s", "rg", "v", "https://127.0.0.1:8443")), StaticTokenCredential)
    assert isinstance(default_credential(Connection("s", "rg", "v", "https://localhost:1")), StaticTokenCredential)
    assert isinstance(default_credential(Connection("s", "rg", "v", PUBLIC_ARM_ENDPOINT)), DefaultAzureCredential)
    sovereign = Connection("s", "rg", "v", "https://management.usgovcloudapi.net")
    assert isinstance(default_credential(sovereign), DefaultAzureCredential)


def test_static_token_is_a_valid_access_token() -> None:
    token = StaticTokenCredential("abc").get_token("https://management.azure.com/.default")
    assert token.token == "abc" and token.expires_on > time.time() + 3600
    info = StaticTokenCredential("abc").get_token_info("scope")
    assert info.token == "abc" and info.expires_on > time.time() + 3600


def test_client_targets_the_configured_endpoint_with_the_right_scope() -> None:
    local = build_client(Connection("sub", "rg", "v", "https://127.0.0.1:8443/"), options=ClientOptions())
    assert local._config.base_url == "https://127.0.0.1:8443"
    assert local._config.subscription_id == "sub"
    sovereign = build_client(
        Connection("sub", "rg", "v", "https://management.usgovcloudapi.net"), credential=StaticTokenCredential()
    )
    assert sovereign._config.credential_scopes == ["https://management.usgovcloudapi.net/.default"]
    public = build_client(Connection("sub", "rg", "v"), credential=StaticTokenCredential())
    assert public._config.credential_scopes == ["https://management.azure.com/.default"]


def test_retry_knobs_reach_azure_cores_retry_policy() -> None:
    options = ClientOptions(retry_total=2, retry_status=1, retry_backoff_factor=0.1, retry_backoff_max=3)
    client = build_client(Connection("s", "rg", "v", "https://127.0.0.1:1"), options=options)
    policy = client._config.retry_policy
    assert (policy.total_retries, policy.status_retries) == (2, 1)
    assert (policy.backoff_factor, policy.backoff_max) == (0.1, 3)


def test_factory_builds_no_client_until_first_use() -> None:
    settings = Settings(
        asr_subscription_id="s", asr_resource_group="rg", asr_vault_name="v", asr_arm_endpoint="https://127.0.0.1:1"
    )
    asr = build_site_recovery(settings)
    assert isinstance(asr, SdkSiteRecovery)
    assert asr._client is None
    assert asr.client is asr.client  # built once, then reused


def test_importing_the_adapter_does_not_load_azure_identity() -> None:
    code = "import sys, lib.adapters.asr_sdk; print('azure.identity' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
