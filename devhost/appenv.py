"""The app settings (environment variable names, as in App Settings) for a ``lib.settings.Settings``."""

from __future__ import annotations

from lib.settings import Settings

__all__ = ["app_env"]


def app_env(settings: Settings) -> dict[str, str]:
    """The inverse of ``Settings.from_env``: what a host process needs so that the app sees ``settings``."""
    return {
        "AzureWebJobsStorage": settings.storage_connection,
        "AzureWebJobsStorage__accountName": settings.storage_account_name,
        "AzureWebJobsStorage__tableServiceUri": settings.storage_table_uri,
        "AzureWebJobsStorage__queueServiceUri": settings.storage_queue_uri,
        "AzureWebJobsStorage__blobServiceUri": settings.storage_blob_uri,
        "AzureWebJobsStorage__credential": settings.storage_credential,
        "AzureWebJobsStorage__clientId": settings.storage_client_id,
        "AZURE_CLIENT_ID": settings.azure_client_id,
        "ASR_SUBSCRIPTION_ID": settings.asr_subscription_id,
        "ASR_RESOURCE_GROUP": settings.asr_resource_group,
        "ASR_VAULT_NAME": settings.asr_vault_name,
        "ASR_ARM_ENDPOINT": settings.asr_arm_endpoint,
        "ASR_CA_BUNDLE": settings.asr_ca_bundle,
        "ASR_CACHE_STORAGE_ACCOUNTS": settings.asr_cache_storage_accounts,
        "DR_WORK_QUEUE": settings.work_queue,
        "DR_RUNS_TABLE": settings.runs_table,
        "DR_RUN_INDEX_TABLE": settings.run_index_table,
        "DR_LOCKS_TABLE": settings.locks_table,
        "DR_SIGNALS_QUEUE": settings.signals_queue,
        "DR_SIGNALS_TABLE": settings.signals_table,
        "DR_DECISIONS_TABLE": settings.decisions_table,
        "DR_POLICY": settings.policy,
        "DR_POLICY_FILE": settings.policy_file,
        "EVENTGRID_TOPIC_ENDPOINT": settings.eventgrid_endpoint,
        "EVENTGRID_TOPIC_KEY": settings.eventgrid_key,
        "DR_TIMER_SCALE": repr(settings.timer_scale),
        "AUTH_MODE": settings.auth_mode,
        "DR_REPORTS_CONTAINER": settings.reports_container,
        "DRILL_ABANDONED_HOURS": repr(settings.drill_abandoned_hours),
        "PROBE_SCHEDULE": settings.probe_schedule,
        "DR_PROBES_TABLE": settings.probes_table,
        "DR_VM_HEALTH_TABLE": settings.vm_health_table,
        "DR_READINESS_TABLE": settings.readiness_table,
        "READINESS_SCHEDULE": settings.readiness_schedule,
        "STATUS_CACHE_SECONDS": repr(settings.status_cache_seconds),
        "DR_ARM_READS_PER_HOUR": repr(settings.arm_reads_per_hour),
        "REGION_NAME": settings.app_region,
    }
