"""The SiteRecovery port on the real SDK (azure-mgmt-recoveryservicessiterecovery 2.0.0).

Actions never wait: the POST's 202 carries ``Azure-AsyncOperation``/``Location`` URLs whose last path
segment is the ASR job's name, which is all the workflows need (they poll ``get_job`` on later steps).
So every ``begin_*`` runs with ``polling=False`` and a ``raw_response_hook`` that keeps the response;
``.result()`` is never called (with NoPolling it would try to decode the empty 202 body).
Retries (429 with Retry-After, 5xx, connection errors) happen inside azure-core's RetryPolicy.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from azure.core.pipeline import PipelineResponse

from lib.adapters import asr_bodies as bodies
from lib.adapters import asr_mapping as mapping
from lib.adapters.asr_client import ClientOptions, Connection, ResponseObserver, build_client
from lib.adapters.asr_errors import Endpoint, translated
from lib.domain.asr import ItemRef, Job, ProtectedItem, RecoveryPlan, RecoveryPoint, VaultHealth
from lib.domain.errors import SiteRecoveryError
from lib.ports.site_recovery import SiteRecovery
from lib.settings import Settings

if TYPE_CHECKING:
    from azure.mgmt.recoveryservicessiterecovery import SiteRecoveryManagementClient

_JOB_NAME_HEADERS = ("Azure-AsyncOperation", "Location")


class _ResponseKeeper:
    """``raw_response_hook``: called for every attempt of the POST; the last one is the accepted one."""

    def __init__(self) -> None:
        self.last: PipelineResponse[Any, Any] | None = None

    def __call__(self, response: PipelineResponse[Any, Any]) -> None:
        self.last = response


def job_name_from_response(response: PipelineResponse[Any, Any] | None, operation: str) -> str:
    """The job GUID: last path segment of Azure-AsyncOperation (…/replicationOperationStatus/{job}) or
    Location (…/operationresults/{job}); for a synchronous 200, the resource's ``currentScenario.jobId``."""
    if response is None:
        raise SiteRecoveryError("NoResponse", "the action returned no response", operation=operation)
    http = response.http_response
    for header in _JOB_NAME_HEADERS:
        name = mapping.last_segment(http.headers.get(header))
        if name:
            return name
    request_id = http.headers.get("x-ms-request-id") or ""
    if "/replicationjobs/" in request_id.lower():
        return mapping.last_segment(request_id)
    try:
        body = json.loads(http.text() or "{}")
        job_id = body.get("properties", {}).get("currentScenario", {}).get("jobId")
    except (ValueError, AttributeError):
        job_id = None
    scenario_job = mapping.job_name_of(job_id)
    if scenario_job:
        return scenario_job
    raise SiteRecoveryError(
        "NoJobInResponse",
        f"HTTP {http.status_code} without Azure-AsyncOperation, Location or a running scenario",
        status=http.status_code,
        operation=operation,
    )


class SdkSiteRecovery:
    """``SiteRecovery`` on one vault. ``connect`` builds the SDK client on first use (then it is reused)."""

    def __init__(
        self,
        connect: Callable[[], SiteRecoveryManagementClient],
        *,
        resource_group: str,
        vault: str,
        cache_storage_accounts: Mapping[str, str] | None = None,
        endpoint: Endpoint | None = None,
    ) -> None:
        """``cache_storage_accounts``: region → staging storage account id used when reprotecting a VM that
        now runs in that region (see ``asr_bodies.switch_protection_input``). ``endpoint`` (URL, CA bundle)
        is named in configuration errors."""
        self._endpoint = endpoint or Endpoint()
        self._connect = connect
        self._client: SiteRecoveryManagementClient | None = None
        self._lock = threading.Lock()
        self._rg = resource_group
        self._vault = vault
        self._cache_accounts = dict(cache_storage_accounts or {})

    @property
    def client(self) -> SiteRecoveryManagementClient:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._connect()
        return self._client

    def _start(self, operation: str, target: str, begin: Callable[..., Any], *args: Any) -> str:
        keeper = _ResponseKeeper()
        with self._translated(operation, target):
            begin(self._rg, self._vault, *args, polling=False, raw_response_hook=keeper)
        return job_name_from_response(keeper.last, operation)

    def _translated(self, operation: str, target: str = "") -> AbstractContextManager[None]:
        """``target``: what a 404 means is missing (then it is permanent); none for jobs, which may lag."""
        return translated(operation, endpoint=self._endpoint, target=target)

    @property
    def _vault_target(self) -> str:
        return f"vault {self._vault!r} (resource group {self._rg!r})"

    # --- reads -------------------------------------------------------------------------------------------
    def list_protected_items(self) -> list[ProtectedItem]:
        with self._translated("list_protected_items", self._vault_target):
            return [
                mapping.protected_item(i) for i in self.client.replication_protected_items.list(self._rg, self._vault)
            ]

    def get_protected_item(self, ref: ItemRef) -> ProtectedItem:
        with self._translated(f"get_protected_item {ref.name}", _item_target(ref)):
            rpi = self.client.replication_protected_items.get(
                self._rg, self._vault, ref.fabric, ref.container, ref.name
            )
        return mapping.protected_item(rpi)

    def list_recovery_plans(self) -> list[RecoveryPlan]:
        with self._translated("list_recovery_plans", self._vault_target):
            return [
                mapping.recovery_plan(p) for p in self.client.replication_recovery_plans.list(self._rg, self._vault)
            ]

    def get_recovery_plan(self, name: str) -> RecoveryPlan:
        with self._translated(f"get_recovery_plan {name}", _plan_target(name)):
            plan = self.client.replication_recovery_plans.get(self._rg, self._vault, name)
        return mapping.recovery_plan(plan)

    def get_job(self, job_name: str) -> Job:
        with self._translated(f"get_job {job_name}"):
            sdk_job = self.client.replication_jobs.get(self._rg, self._vault, job_name)
        return mapping.job(sdk_job)

    def list_jobs(self, *, since: datetime | None = None) -> list[Job]:
        query = None if since is None else f"startTime eq '{_odata_time(since)}'"
        with self._translated("list_jobs", self._vault_target):
            return [mapping.job(j) for j in self.client.replication_jobs.list(self._rg, self._vault, filter=query)]

    def list_recovery_points(self, ref: ItemRef) -> list[RecoveryPoint]:
        with self._translated(f"list_recovery_points {ref.name}", _item_target(ref)):
            points = list(
                self.client.recovery_points.list_by_replication_protected_items(
                    self._rg, self._vault, ref.fabric, ref.container, ref.name
                )
            )
        return mapping.recovery_points(points)

    def get_vault_health(self) -> VaultHealth:
        with self._translated("get_vault_health", self._vault_target):
            health = self.client.replication_vault_health.get(self._rg, self._vault)
        return mapping.vault_health(health)

    # --- item actions (return the ASR job name) ----------------------------------------------------------
    def unplanned_failover(self, ref: ItemRef, *, shutdown_source: bool, recovery_point_id: str | None) -> str:
        body = bodies.unplanned_failover_input(shutdown_source=shutdown_source, recovery_point_id=recovery_point_id)
        items = self.client.replication_protected_items
        return self._start(
            f"unplanned_failover {ref.name}",
            _item_target(ref),
            items.begin_unplanned_failover,
            ref.fabric,
            ref.container,
            ref.name,
            body,
        )

    def test_failover(self, ref: ItemRef, *, network_id: str, recovery_point_id: str | None = None) -> str:
        body = bodies.test_failover_input(network_id=network_id, recovery_point_id=recovery_point_id)
        items = self.client.replication_protected_items
        return self._start(
            f"test_failover {ref.name}",
            _item_target(ref),
            items.begin_test_failover,
            ref.fabric,
            ref.container,
            ref.name,
            body,
        )

    def test_failover_cleanup(self, ref: ItemRef, *, comments: str) -> str:
        body = bodies.test_failover_cleanup_input(comments=comments)
        items = self.client.replication_protected_items
        return self._start(
            f"test_failover_cleanup {ref.name}",
            _item_target(ref),
            items.begin_test_failover_cleanup,
            ref.fabric,
            ref.container,
            ref.name,
            body,
        )

    def commit(self, ref: ItemRef) -> str:
        items = self.client.replication_protected_items
        return self._start(
            f"commit {ref.name}", _item_target(ref), items.begin_failover_commit, ref.fabric, ref.container, ref.name
        )

    def switch_protection(self, item: ProtectedItem) -> str:
        """POST on the item's current container. The body needs the policy and disks, which the domain view
        does not carry, so the item is read fresh (one GET) — also guarding against a stale ``item``."""
        operation = f"switch_protection {item.name}"
        with self._translated(operation, _item_target(item.ref)):
            rpi = self.client.replication_protected_items.get(
                self._rg, self._vault, item.fabric, item.container, item.name
            )
        current = mapping.protected_item(rpi)
        body = bodies.switch_protection_input(rpi, self._cache_accounts)
        containers = self.client.replication_protection_containers
        return self._start(
            operation,
            _item_target(item.ref),
            containers.begin_switch_protection,
            current.fabric,
            current.container,
            body,
        )

    # --- job actions -------------------------------------------------------------------------------------
    def cancel_job(self, job_name: str) -> str:
        """``POST …/replicationJobs/{job}/cancel``: a 202 LRO like the other actions; its URLs name the job."""
        jobs = self.client.replication_jobs
        return self._start(f"cancel_job {job_name}", "", jobs.begin_cancel, job_name)  # a job 404 may be lag

    # --- recovery-plan actions ---------------------------------------------------------------------------
    def plan_unplanned_failover(
        self, plan: str, *, direction: str, shutdown_source: bool, recovery_point_type: str
    ) -> str:
        body = bodies.plan_unplanned_failover_input(
            direction=direction, shutdown_source=shutdown_source, recovery_point_type=recovery_point_type
        )
        plans = self.client.replication_recovery_plans
        return self._start(
            f"plan_unplanned_failover {plan}", _plan_target(plan), plans.begin_unplanned_failover, plan, body
        )

    def plan_test_failover(self, plan: str, *, network_id: str, direction: str, recovery_point_type: str) -> str:
        body = bodies.plan_test_failover_input(
            network_id=network_id, direction=direction, recovery_point_type=recovery_point_type
        )
        plans = self.client.replication_recovery_plans
        return self._start(f"plan_test_failover {plan}", _plan_target(plan), plans.begin_test_failover, plan, body)

    def plan_test_failover_cleanup(self, plan: str, *, comments: str) -> str:
        body = bodies.plan_test_failover_cleanup_input(comments=comments)
        plans = self.client.replication_recovery_plans
        return self._start(
            f"plan_test_failover_cleanup {plan}", _plan_target(plan), plans.begin_test_failover_cleanup, plan, body
        )

    def plan_commit(self, plan: str) -> str:
        plans = self.client.replication_recovery_plans
        return self._start(f"plan_commit {plan}", _plan_target(plan), plans.begin_failover_commit, plan)


def build_site_recovery(
    settings: Settings,
    *,
    options: ClientOptions | None = None,
    observer: ResponseObserver | None = None,
    cache_storage_accounts: Mapping[str, str] | None = None,
) -> SiteRecovery:
    """The production adapter for ``settings`` (an ``SdkSiteRecovery``); its SDK client is built on first use."""
    connection = Connection.from_settings(settings)
    return SdkSiteRecovery(
        lambda: build_client(connection, options=options, observer=observer),
        resource_group=connection.resource_group,
        vault=connection.vault,
        cache_storage_accounts=cache_storage_accounts,
        endpoint=Endpoint(connection.endpoint, connection.ca_bundle),
    )


def _odata_time(when: datetime) -> str:
    """UTC, ISO 8601 with a ``Z`` (ASR's ``JobQueryParameter.startTime``)."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _item_target(ref: ItemRef) -> str:
    return f"protected item {ref.name!r} (container {ref.container!r})"


def _plan_target(name: str) -> str:
    return f"recovery plan {name!r}"
