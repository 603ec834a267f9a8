"""SDK models → the domain's frozen views (lib/domain/asr.py).

ASR quirks handled here: ids come back with ``/Subscriptions/`` and mixed case, so ids are parsed
case-insensitively; "unset" timestamps are sentinels (0001-01-01, 1601-01-01, 1753-01-01) rather than
null; an idle ``currentScenario`` points at ``replicationJobs/None``; recovery points are not sorted.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum

from azure.mgmt.recoveryservicessiterecovery import models as m

from lib.domain.asr import (
    AgentStatus,
    HealthIssue,
    Job,
    JobError,
    ProtectedItem,
    RecoveryPlan,
    RecoveryPoint,
    VaultHealth,
)

# Anything before this is one of ASR's "never" sentinels.
_EARLIEST_REAL_TIME = datetime(1900, 1, 1, tzinfo=UTC)


def last_segment(resource_id: str | None) -> str:
    """The name at the end of an ARM id or URL path (query string and trailing slash ignored)."""
    if not resource_id:
        return ""
    return resource_id.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]


def id_segment(resource_id: str | None, key: str) -> str | None:
    """The value after ``key`` in an ARM id, matching ``key`` case-insensitively."""
    parts = (resource_id or "").split("?", 1)[0].strip("/").split("/")
    wanted = key.lower()
    for index in range(len(parts) - 1):
        if parts[index].lower() == wanted:
            return parts[index + 1]
    return None


def container_id_of(item_id: str) -> str:
    """The protection container's ARM id: the item id up to ``replicationProtectedItems`` (exclusive)."""
    parts = item_id.split("/")
    for index, part in enumerate(parts):
        if part.lower() == "replicationprotecteditems":
            return "/".join(parts[:index])
    raise ValueError(f"not a replication protected item id: {item_id}")


def resource_group_id_of(resource_id: str | None) -> str | None:
    """``/subscriptions/{sub}/resourceGroups/{rg}`` of any ARM id, or None."""
    sub = id_segment(resource_id, "subscriptions")
    group = id_segment(resource_id, "resourceGroups")
    return f"/subscriptions/{sub}/resourceGroups/{group}" if sub and group else None


def job_name_of(job_id: str | None) -> str | None:
    """The job name in a ``currentScenario.jobId``; None for the idle ``…/replicationJobs/None``."""
    name = last_segment(job_id)
    return None if not name or name.lower() == "none" else name


def real_time(value: datetime | None) -> datetime | None:
    """Timezone-aware UTC, or None for missing values and ASR's "never" sentinels."""
    if value is None:
        return None
    try:
        aware = value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)
    except OverflowError:  # an offset applied to 0001-01-01
        return None
    return None if aware < _EARLIEST_REAL_TIME else aware


def _text(value: str | Enum | None) -> str:
    """Enum-typed fields hold a plain string when deserialized but an Enum when built in code."""
    if value is None:
        return ""
    return str(value.value) if isinstance(value, Enum) else value


def _scenario(details: m.CurrentScenarioDetails | None) -> tuple[str | None, str | None]:
    if details is None:
        return None, None
    name = details.scenario_name
    return (None if not name or name == "None" else name), job_name_of(details.job_id)


def agent_status(details: m.A2AReplicationDetails | None) -> AgentStatus:
    if details is None:
        return AgentStatus()
    return AgentStatus(
        version=details.agent_version or "",
        update_required=bool(details.is_replication_agent_update_required),
        expiry=real_time(details.agent_expiry_date),
        certificate_update_required=bool(details.is_replication_agent_certificate_update_required),
        certificate_expiry=real_time(details.agent_certificate_expiry_date),
    )


def protected_item(rpi: m.ReplicationProtectedItem) -> ProtectedItem:
    props = rpi.properties or m.ReplicationProtectedItemProperties()
    a2a = props.provider_specific_details
    details = a2a if isinstance(a2a, m.A2AReplicationDetails) else None
    item_id = rpi.id or ""
    name = rpi.name or last_segment(item_id)
    primary = (details.primary_fabric_location if details else None) or ""
    recovery = (details.recovery_fabric_location if details else None) or ""
    scenario, job_name = _scenario(props.current_scenario)
    return ProtectedItem(
        id=item_id,
        name=name,
        vm_name=props.friendly_name or name,
        fabric=id_segment(item_id, "replicationFabrics") or "",
        container=id_segment(item_id, "replicationProtectionContainers") or "",
        protection_state=props.protection_state or "",
        protection_state_description=props.protection_state_description or "",
        active_location=props.active_location or "",
        allowed_operations=frozenset(props.allowed_operations or ()),
        replication_health=props.replication_health or "None",
        failover_health=props.failover_health or "None",
        primary_location=primary,
        recovery_location=recovery,
        # Absent only on items enabled before these fields existed: their current direction is the original.
        initial_primary_location=(details.initial_primary_fabric_location if details else None) or primary,
        initial_recovery_location=(details.initial_recovery_fabric_location if details else None) or recovery,
        monitoring_percentage=details.monitoring_percentage_completion if details else None,
        current_scenario=scenario or "None",
        current_job_name=job_name,
        test_failover_state=props.test_failover_state or "None",
        last_successful_failover_time=real_time(props.last_successful_failover_time),
        last_successful_test_failover_time=real_time(props.last_successful_test_failover_time),
        test_vm_name=(details.tfo_azure_vm_name if details else None) or None,
        rpo_seconds=details.rpo_in_seconds if details else None,
        health_error_codes=tuple(e.error_code for e in props.health_errors or () if e.error_code),
        vm_id=(details.fabric_object_id if details else None) or "",
        recovery_vm_id=(details.recovery_fabric_object_id if details else None) or None,
        recovery_vm_size=(details.recovery_azure_vm_size if details else None) or None,
        agent=agent_status(details),
    )


def recovery_plan(plan: m.RecoveryPlan) -> RecoveryPlan:
    props = plan.properties or m.RecoveryPlanProperties()
    groups = tuple(
        tuple(last_segment(member.id) for member in group.replication_protected_items or () if member.id)
        for group in props.groups or ()
        if _text(group.group_type).lower() == "boot"
    )
    scenario, job_name = _scenario(props.current_scenario)
    return RecoveryPlan(
        name=plan.name or last_segment(plan.id),
        id=plan.id or "",
        allowed_operations=frozenset(props.allowed_operations or ()),
        primary_fabric_id=props.primary_fabric_id or "",
        recovery_fabric_id=props.recovery_fabric_id or "",
        groups=groups,
        current_scenario=scenario,
        current_job_name=job_name,
    )


def _job_errors(details: list[m.JobErrorDetails] | None) -> tuple[JobError, ...]:
    """Service and provider entries, Error level first so ``errors[0]`` is the failure, not a warning."""
    errors: list[JobError] = []
    for detail in details or ():
        level = detail.error_level or "Error"
        service, provider = detail.service_error_details, detail.provider_error_details
        if service is not None and (service.code or service.message):
            errors.append(JobError(service.code or "", service.message or "", level))
        if provider is not None and (provider.error_code is not None or provider.error_message):
            code = "" if provider.error_code is None else str(provider.error_code)
            errors.append(JobError(code, provider.error_message or "", level))
    return tuple(sorted(errors, key=lambda e: e.level.lower() != "error"))


def _failover_points(custom: object) -> tuple[tuple[str, str, datetime], ...]:
    if not isinstance(custom, m.FailoverJobDetails):
        return ()
    points = []
    for detail in custom.protected_item_details or ():
        when = real_time(detail.recovery_point_time)
        if detail.friendly_name and when is not None:
            points.append((detail.friendly_name, detail.recovery_point_id or "", when))
    return tuple(points)


def job(sdk_job: m.Job) -> Job:
    props = sdk_job.properties or m.JobProperties()
    custom = props.custom_details
    new_item_id = custom.new_replication_protected_item_id if isinstance(custom, m.SwitchProtectionJobDetails) else None
    return Job(
        name=sdk_job.name or last_segment(sdk_job.id),
        id=sdk_job.id or "",
        scenario=props.scenario_name or "",
        state=props.state or "",
        state_description=props.state_description or "",
        target_name=props.target_object_name or "",
        target_type=props.target_instance_type or "",
        start_time=real_time(props.start_time),
        end_time=real_time(props.end_time),
        errors=_job_errors(props.errors),
        new_item_id=new_item_id or None,
        tasks=tuple((t.friendly_name or t.name or t.task_id or "", t.state or "") for t in props.tasks or ()),
        points=_failover_points(custom),
        allowed_actions=frozenset(props.allowed_actions or ()),
    )


def recovery_points(points: list[m.RecoveryPoint]) -> list[RecoveryPoint]:
    """Oldest first. The service does not sort; points without a time cannot be chosen and are dropped."""
    mapped: list[RecoveryPoint] = []
    for point in points:
        props = point.properties
        when = real_time(props.recovery_point_time) if props else None
        if when is None:
            continue
        mapped.append(
            RecoveryPoint(
                id=point.id or "",
                name=point.name or last_segment(point.id),
                time=when,
                kind=(props.recovery_point_type if props else None) or "",
            )
        )
    return sorted(mapped, key=lambda p: p.time)


def _issues(summary: m.ResourceHealthSummary | None, scope: str = "item") -> list[HealthIssue]:
    return [
        HealthIssue(
            code=issue.summary_code or "",
            category=_text(issue.category),
            severity=_text(issue.severity),
            message=issue.summary_message or "",
            affected=len(issue.affected_resource_correlation_ids or ()),
            scope=scope,
        )
        for issue in (summary.issues if summary else None) or ()
    ]


def vault_health(health: m.VaultHealthDetails) -> VaultHealth:
    props = health.properties or m.VaultHealthProperties()
    items = props.protected_items_health
    # Vault-level errors concern the vault itself: one affected resource each.
    vault_errors = [
        HealthIssue(
            code=e.error_code or "",
            category=e.error_category or "",
            severity=e.error_level or "",
            message=e.error_message or e.summary_message or "",
            affected=1,
            scope="vault",
        )
        for e in props.vault_errors or ()
    ]
    return VaultHealth(
        item_count=(items.resource_count if items else None) or 0,
        counts=dict((items.categorized_resource_counts if items else None) or {}),
        item_issues=tuple(_issues(items)),
        infrastructure_issues=tuple(
            vault_errors + _issues(props.fabrics_health, "fabric") + _issues(props.containers_health, "container")
        ),
    )
