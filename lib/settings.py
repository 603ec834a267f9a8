"""Application settings, read once from the environment (App Settings in Azure, local.settings.json locally)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from lib.storage_config import StorageConfigError, storage_problems

PUBLIC_ARM_ENDPOINT = "https://management.azure.com"


def _seconds(raw: str, default: float = 30.0) -> float:
    """``STATUS_CACHE_SECONDS``: a bad value falls back to the default rather than stopping the app."""
    try:
        value = float(raw)
    except ValueError:
        return default
    return value if value >= 0 else default


def _public_url(explicit: str, host: str) -> str:
    """``PUBLIC_URL``, else the app's own host name (``WEBSITE_HOSTNAME``, set by App Service), else ""."""
    return explicit.rstrip("/") or (f"https://{host}" if host else "")


@dataclass(frozen=True)
class Settings:
    # Storage: a connection string (local, Azurite), or the identity-based AzureWebJobsStorage__* settings the
    # Functions host reads too (lib/storage_config.py says which form wins and how the app signs in).
    storage_connection: str = ""
    storage_account_name: str = ""
    storage_table_uri: str = ""
    storage_queue_uri: str = ""
    storage_blob_uri: str = ""
    storage_credential: str = ""  # "managedidentity", or empty for DefaultAzureCredential
    storage_client_id: str = ""  # the user-assigned identity for storage
    # The user-assigned identity every other Azure client (ARM, Event Grid) signs in with via DefaultAzureCredential.
    azure_client_id: str = ""
    asr_subscription_id: str = ""
    asr_resource_group: str = ""
    asr_vault_name: str = ""
    asr_arm_endpoint: str = PUBLIC_ARM_ENDPOINT
    asr_ca_bundle: str = ""
    # Reprotect (switch-protection) of managed disks needs a cache storage account in the region the VMs now
    # run in: "westus=/subscriptions/.../storageAccounts/cachewus;eastus=/subscriptions/.../cacheeus".
    asr_cache_storage_accounts: str = ""
    work_queue: str = "drwork"
    runs_table: str = "drruns"
    run_index_table: str = "drrunindex"
    locks_table: str = "drlocks"
    signals_queue: str = "drsignals"  # the autopilot's queue: received payloads, probe signals, dwell timers
    signals_table: str = "drsignals"  # every region-health signal, per region (PK region, RK notification key)
    decisions_table: str = "drdecisions"  # every autopilot decision, per region, newest first
    # The alert webhook's handler answers within this budget: a queue send still running then is a 503 to retry.
    alert_answer_budget_ms: float = 750.0
    # Incidents resolved (and stored) longer ago than this are set aside: evaluations no longer read them.
    signal_retention_days: float = 7.0
    policy: str = ""  # DR_POLICY: the automatic-failover policy as inline JSON (lib/guard/README.md)
    policy_file: str = ""  # DR_POLICY_FILE: a file holding it (set one of the two)
    eventgrid_endpoint: str = ""
    eventgrid_key: str = ""  # local only; in Azure the managed identity publishes
    events_queue: str = "drevents"  # operator events waiting for a retry (a visibility delay is the backoff)
    events_source: str = "/site-recovery-autopilot"  # the CloudEvents ``source`` of every operator event
    appinsights_connection: str = ""  # APPLICATIONINSIGHTS_CONNECTION_STRING: OpenTelemetry export when set
    appinsights_auth: str = ""  # "ClientId=<id>;Authorization=AAD": export with that managed identity
    public_url: str = ""  # where /api/runs/{id} links point: https://<WEBSITE_HOSTNAME> in Azure; relative if unset
    timer_scale: float = 1.0  # dev/demo only: shrink every workflow wait
    # "keys": the function key alone decides (local default). "easyauth": App Service Authentication validates
    # the caller's Entra ID token in front of the app; the app checks app roles (the production setting).
    auth_mode: str = "keys"
    reports_container: str = "drreports"  # a report for every finished run (Blob storage, create-only)
    # A test failover left waiting for cleanup longer than this, on a VM no active run holds, is cleaned up.
    drill_abandoned_hours: float = 24.0
    # Signal sources: the probe timer (NCRONTAB) and the sources' state tables.
    probe_schedule: str = "0 * * * * *"
    probes_table: str = "drprobes"
    vm_health_table: str = "drvmhealth"
    readiness_table: str = "drreadiness"
    readiness_schedule: str = "0 */30 * * * *"  # NCRONTAB: every 30 minutes
    # The share of ARM's ~12,000 reads/hour per subscription the app may use across all its runs (0: no limit).
    arm_reads_per_hour: float = 2400.0
    status_cache_seconds: float = 30.0  # GET /api/status answers from this cache, so refreshing costs no ARM reads
    # The region the app itself runs in: the Functions host sets REGION_NAME (sometimes as "East US").
    app_region: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        e = os.environ if env is None else env
        return cls(
            storage_connection=e.get("AzureWebJobsStorage", ""),
            storage_account_name=e.get("AzureWebJobsStorage__accountName", ""),
            storage_table_uri=e.get("AzureWebJobsStorage__tableServiceUri", ""),
            storage_queue_uri=e.get("AzureWebJobsStorage__queueServiceUri", ""),
            storage_blob_uri=e.get("AzureWebJobsStorage__blobServiceUri", ""),
            storage_credential=e.get("AzureWebJobsStorage__credential", ""),
            storage_client_id=e.get("AzureWebJobsStorage__clientId", ""),
            azure_client_id=e.get("AZURE_CLIENT_ID", "").strip(),
            asr_subscription_id=e.get("ASR_SUBSCRIPTION_ID", ""),
            asr_resource_group=e.get("ASR_RESOURCE_GROUP", ""),
            asr_vault_name=e.get("ASR_VAULT_NAME", ""),
            asr_arm_endpoint=e.get("ASR_ARM_ENDPOINT", PUBLIC_ARM_ENDPOINT).rstrip("/"),
            asr_ca_bundle=e.get("ASR_CA_BUNDLE", ""),
            asr_cache_storage_accounts=e.get("ASR_CACHE_STORAGE_ACCOUNTS", ""),
            work_queue=e.get("DR_WORK_QUEUE", "drwork"),
            runs_table=e.get("DR_RUNS_TABLE", "drruns"),
            run_index_table=e.get("DR_RUN_INDEX_TABLE", "drrunindex"),
            locks_table=e.get("DR_LOCKS_TABLE", "drlocks"),
            signals_queue=e.get("DR_SIGNALS_QUEUE", "drsignals") or "drsignals",
            signals_table=e.get("DR_SIGNALS_TABLE", "drsignals") or "drsignals",
            decisions_table=e.get("DR_DECISIONS_TABLE", "drdecisions") or "drdecisions",
            alert_answer_budget_ms=_seconds(e.get("ALERT_ANSWER_BUDGET_MS", ""), 750.0),
            signal_retention_days=_seconds(e.get("DR_SIGNAL_RETENTION_DAYS", ""), 7.0),
            policy=e.get("DR_POLICY", ""),
            policy_file=e.get("DR_POLICY_FILE", ""),
            eventgrid_endpoint=e.get("EVENTGRID_TOPIC_ENDPOINT", ""),
            eventgrid_key=e.get("EVENTGRID_TOPIC_KEY", ""),
            events_queue=e.get("DR_EVENTS_QUEUE", "drevents") or "drevents",
            events_source=e.get("EVENTS_SOURCE", "") or "/site-recovery-autopilot",
            public_url=_public_url(e.get("PUBLIC_URL", ""), e.get("WEBSITE_HOSTNAME", "")),
            appinsights_connection=e.get("APPLICATIONINSIGHTS_CONNECTION_STRING", ""),
            appinsights_auth=e.get("APPLICATIONINSIGHTS_AUTHENTICATION_STRING", ""),
            timer_scale=float(e.get("DR_TIMER_SCALE", "1") or 1),
            auth_mode=(e.get("AUTH_MODE", "keys") or "keys").strip().lower(),
            reports_container=e.get("DR_REPORTS_CONTAINER", "drreports") or "drreports",
            drill_abandoned_hours=float(e.get("DRILL_ABANDONED_HOURS", "24") or 24),
            probe_schedule=e.get("PROBE_SCHEDULE", "0 * * * * *").strip() or "0 * * * * *",
            probes_table=e.get("DR_PROBES_TABLE", "drprobes") or "drprobes",
            vm_health_table=e.get("DR_VM_HEALTH_TABLE", "drvmhealth") or "drvmhealth",
            readiness_table=e.get("DR_READINESS_TABLE", "drreadiness"),
            readiness_schedule=e.get("READINESS_SCHEDULE", "") or "0 */30 * * * *",
            status_cache_seconds=_seconds(e.get("STATUS_CACHE_SECONDS", "")),
            arm_reads_per_hour=_seconds(e.get("DR_ARM_READS_PER_HOUR", ""), 2400.0),
            app_region=e.get("REGION_NAME", "").replace(" ", "").lower(),
        )

    def missing(self) -> list[str]:
        """The names of required settings that are not set (storage: either form will do)."""
        storage = [p.setting for p in self.storage_problems() if p.missing]
        required = {
            "ASR_SUBSCRIPTION_ID": self.asr_subscription_id,
            "ASR_RESOURCE_GROUP": self.asr_resource_group,
            "ASR_VAULT_NAME": self.asr_vault_name,
        }
        return storage + [name for name, value in required.items() if not value]

    def storage_problems(self) -> list[StorageConfigError]:
        """What keeps the app from its tables and queues, each naming the setting and saying why."""
        return storage_problems(self)

    def cache_storage_accounts(self) -> dict[str, str]:
        """``ASR_CACHE_STORAGE_ACCOUNTS`` as {region: storage account id}; raises ValueError naming the bad part."""
        accounts: dict[str, str] = {}
        for part in filter(None, (p.strip() for p in self.asr_cache_storage_accounts.split(";"))):
            region, sep, account = part.partition("=")
            if not sep or not region.strip() or "/storageAccounts/" not in account:
                raise ValueError(f"ASR_CACHE_STORAGE_ACCOUNTS: '{part}' is not region=<storage account id>")
            accounts[region.strip().lower()] = account.strip()
        return accounts

    def policy_env(self) -> dict[str, str]:
        """``DR_POLICY`` / ``DR_POLICY_FILE`` as ``lib.guard.policy_from_env`` reads them."""
        return {"DR_POLICY": self.policy, "DR_POLICY_FILE": self.policy_file}

    @property
    def uses_local_emulator(self) -> bool:
        return self.asr_arm_endpoint != PUBLIC_ARM_ENDPOINT
