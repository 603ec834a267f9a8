"""Job, recovery-plan, vault-health, event and operation-status JSON (asr-api.md §4.2, §5, §7.3, §8, §9.2)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from emulator import topology as topo
from emulator.backend import Backend
from emulator.clock import UNSET_TASK_TIME, iso
from emulator.models import COMMIT_PENDING, COMMITTED, PROTECTED, TFO_WAITING, Event, InfraIssue, Job, Plan, Task
from emulator.plan_actions import plan_allowed
from emulator.shapes import health_error_json

JOB_TYPE = "Microsoft.RecoveryServices/vaults/replicationJobs"
PLAN_TYPE = "Microsoft.RecoveryServices/vaults/replicationRecoveryPlans"
HEALTH_TYPE = "Microsoft.RecoveryServices/vaults/replicationVaultHealth"
EVENT_TYPE = "Microsoft.RecoveryServices/vaults/replicationEvents"


def task_json(task: Task, now: datetime, b: Backend, job: Job) -> dict[str, Any]:
    # While the job is queued (NotStarted) none of its tasks has started either.
    state, description = task.state(now) if job.state(now)[0] != "NotStarted" else ("NotStarted", "NotStarted")
    started = state not in ("NotStarted",) and task.outcome != "Skipped"
    done = state in ("Succeeded", "Failed")
    friendly = task.done_friendly_name if done and task.done_friendly_name else task.friendly_name
    body: dict[str, Any] = {
        "taskId": task.task_id,
        "name": task.name,
        "startTime": iso(task.start) if started else UNSET_TASK_TIME,
        "endTime": iso(task.end) if done else UNSET_TASK_TIME,
        "allowedActions": [],
        "friendlyName": friendly,
        "state": state,
        "stateDescription": description,
        "taskType": task.task_type,
        "customDetails": {"instanceType": "TaskDetails"},
        "groupTaskCustomDetails": None,
        "errors": list(task.errors) if done else [],
    }
    if task.job_task is not None:
        body["customDetails"] = {"instanceType": "JobTaskDetails", "jobTask": dict(task.job_task)}
    if task.task_type == "GroupTaskDetails":
        body["customDetails"] = None
        body["groupTaskCustomDetails"] = {
            "instanceType": "GroupTaskDetails",
            "childTasks": [task_json(child, now, b, job) for child in task.children],
        }
    return body


def job_json(b: Backend, job: Job, now: datetime) -> dict[str, Any]:
    state, description = job.state(now)
    finished = job.finished(now)
    details = dict(job.custom_details)
    if details.get("instanceType") == "SwitchProtectionJobDetails":
        details["newReplicationProtectedItemId"] = recorded_id_casing(job.new_item_id) if state == "Succeeded" else None
    return {
        "id": b.job_id(job.name),
        "name": job.name,
        "type": JOB_TYPE,
        "properties": {
            "activityId": f"{job.name} ActivityId: {topo.stable_guid(job.name, 'activity')}",
            "scenarioName": job.scenario,
            "friendlyName": job.friendly_name,
            "state": state,
            "stateDescription": description,
            "tasks": [task_json(task, now, b, job) for task in job.tasks],
            "errors": list(job.errors) if finished else [],
            "startTime": iso(job.start),
            "endTime": iso(job.finish_time()) if finished else None,
            "allowedActions": ["Cancel"] if job.cancellable(now) else [],
            "targetObjectId": job.target_object_id,
            "targetObjectName": target_object_name(job),
            "targetInstanceType": job.target_instance_type,
            "customDetails": details,
        },
    }


def recorded_id_casing(item_id: str | None) -> str | None:
    """The recorded reprotect job spells ``/subscriptions/`` in lower case where item ids say ``/Subscriptions/``."""
    if item_id and item_id.startswith("/Subscriptions/"):
        return "/subscriptions/" + item_id[len("/Subscriptions/") :]
    return item_id


def target_object_name(job: Job) -> str:
    """Jobs on a VM name it in lower case (``azuredemovm`` for ``AzureDemoVM`` in the recordings); plans keep theirs."""
    if job.target_instance_type in ("ProtectionEntity", "Vm"):
        return job.target_object_name.lower()
    return job.target_object_name


def cancel_status_json(operation: str, job: Job) -> dict[str, Any]:
    """The operation status of a job cancel: it succeeded (the job itself reads ``Cancelled``)."""
    at = iso(job.finish_time())
    return {"error": None, "id": None, "name": operation, "properties": None, "status": "Succeeded",
            "startTime": at, "endTime": at, "percentComplete": None}  # fmt: skip


def op_status_json(job: Job, now: datetime) -> dict[str, Any]:
    state, _ = job.state(now)
    # azure-core only stops on succeeded/failed/canceled: ASR's "Cancelled" must be spelled "Canceled" here.
    # PartiallySucceeded ends the operation; which status ASR reports for it is not recorded (inferred).
    statuses = {
        "Succeeded": "Succeeded",
        "PartiallySucceeded": "Succeeded",
        "Failed": "Failed",
        "Cancelled": "Canceled",
    }
    status = statuses.get(state, "InProgress")
    error = None
    if status == "Failed":
        first = (
            job.errors[0]["serviceErrorDetails"] if job.errors else {"code": "InternalError", "message": "Job failed."}
        )
        error = {"code": first["code"], "message": first["message"]}
    elif status == "Canceled":
        error = {"code": "OperationCanceled", "message": f"The job '{job.name}' was cancelled."}
    return {
        "error": error,
        "id": None,
        "name": job.name,
        "properties": None,
        "status": status,
        "startTime": iso(job.start),
        "endTime": iso(job.finish_time()) if status != "InProgress" else None,
        "percentComplete": None,
    }


def plan_json(b: Backend, plan: Plan, now: datetime, *, members: bool = True) -> dict[str, Any]:
    """``members=False`` is the LIST's shape: its groups come back empty; only the single GET names members."""
    t = b.topology
    boot = [
        {
            "groupType": "Boot",
            "replicationProtectedItems": [
                {"id": b.item_id(b.items[name]), "virtualMachineId": b.items[name].guid} for name in group
            ],
            "startGroupActions": [],
            "endGroupActions": [],
        }
        for group in plan.groups
    ]
    empty: dict[str, list[Any]] = {"replicationProtectedItems": [], "startGroupActions": [], "endGroupActions": []}
    scenario = plan.scenario
    status = plan.scenario_status
    return {
        "id": b.plan_id(plan),
        "name": plan.name,
        "type": PLAN_TYPE,
        "properties": {
            "friendlyName": plan.name,
            "primaryFabricId": b.fabric_id(t.primary_region),
            "primaryFabricFriendlyName": topo.region_display(t.primary_region),
            "recoveryFabricId": b.fabric_id(t.recovery_region),
            "recoveryFabricFriendlyName": topo.region_display(t.recovery_region),
            "failoverDeploymentModel": "ResourceManager",
            "replicationProviders": ["A2A"],
            "allowedOperations": plan_allowed(b, plan),
            "lastPlannedFailoverTime": None,
            "lastUnplannedFailoverTime": iso(plan.last_unplanned_failover),
            "lastTestFailoverTime": iso(plan.last_test_failover),
            "currentScenario": (
                {"scenarioName": scenario.name, "jobId": b.job_id(scenario.job_name), "startTime": iso(scenario.start)}
                if scenario
                else None
            ),
            "currentScenarioStatus": status[0] if status else None,
            "currentScenarioStatusDescription": status[1] if status else None,
            "groups": [{"groupType": "Shutdown", **empty}, {"groupType": "Failover", **empty}, *boot]
            if members
            else [],
            "providerSpecificDetails": [],
        },
    }


def _issues(b: Backend) -> list[dict[str, Any]]:
    grouped: dict[str, dict[str, Any]] = {}
    for item in b.items.values():
        for issue in item.health:
            entry = grouped.setdefault(
                issue.code,
                {
                    "summaryCode": issue.code,
                    "category": issue.category,
                    "severity": issue.level,
                    "summaryMessage": "",
                    "affectedResourceType": "ReplicationGroup",
                    "affectedResourceSubtype": None,
                    "affectedResourceCorrelationIds": [],
                },
            )
            entry["affectedResourceCorrelationIds"].append(item.event_correlation_id)
    return list(grouped.values())


def _counts(b: Backend) -> dict[str, int]:
    items = list(b.items.values())
    counts: dict[str, int] = {}
    for region in (b.topology.primary_region, b.topology.recovery_region):
        counts[f"fabric_{b.fabric_guid(region)}"] = sum(1 for item in items if item.primary == region)

    def n(pred: Any) -> int:
        return sum(1 for item in items if pred(item))

    def has(item: Any, category: str, level: str) -> bool:
        return any(h.category == category and h.level == level for h in item.health)

    failed_over = {COMMIT_PENDING, COMMITTED}
    tfo_running = {i.name for i in items if i.busy_job and i.scenario and i.scenario.name == "TestFailover"}
    counts.update(
        {
            "testFailoverApplicableProtectedItemsCount": n(lambda i: i.state == PROTECTED),
            "testFailoverInProgressProtectedItemsCount": len(tfo_running),
            "testFailoverWaitingProtectedItemsCount": n(lambda i: i.tfo_state == TFO_WAITING),
            "protectedItemsCriticalCount": n(
                lambda i: i.state not in failed_over and i.replication_health() == "Critical"
            ),
            "protectedItemsWarningCount": n(
                lambda i: i.state not in failed_over and i.replication_health() == "Warning"
            ),
            "protectedItemsNeutralCount": n(lambda i: i.state in failed_over),
            "protectedItemsTestFailoverCriticalCount": n(lambda i: has(i, "TestFailover", "Error")),
            "protectedItemsTestFailoverWarningCount": n(lambda i: has(i, "TestFailover", "Warning")),
            "protectedItemsConfigurationCriticalCount": n(lambda i: has(i, "Configuration", "Error")),
            "protectedItemsConfigurationWarningCount": n(lambda i: has(i, "Configuration", "Warning")),
            "protectedItemsFailoverHealthCriticalCount": n(lambda i: i.failover_health() == "Critical"),
            "protectedItemsFailoverHealthWarningCount": n(lambda i: i.failover_health() == "Warning"),
        }
    )
    return counts


def _vault_error_json(b: Backend, issue: InfraIssue) -> dict[str, Any]:
    return {
        "innerHealthErrors": [],
        "errorSource": "VaultHealthValidator",
        "errorType": issue.code,
        "errorLevel": issue.level,
        "errorCategory": issue.category,
        "errorCode": issue.code,
        "summaryMessage": issue.message,
        "errorMessage": issue.message,
        "possibleCauses": "",
        "recommendedAction": "",
        "creationTimeUtc": iso(issue.created),
        "recoveryProviderErrorMessage": None,
        "entityId": b.vault_id,
        "errorId": f"6:{issue.code}",
        "customerResolvability": "Allowed",
    }


def _infra_summary(b: Backend, scope: str) -> list[dict[str, Any]]:
    """Fabric or container issues grouped by code, like the recorded ``fabricsHealth.issues``."""
    grouped: dict[str, dict[str, Any]] = {}
    for issue in (i for i in b.infra_issues if i.scope == scope):
        entry = grouped.setdefault(
            issue.code,
            {
                "summaryCode": issue.code,
                "category": issue.category,
                "severity": issue.level,
                "summaryMessage": issue.message,
                "affectedResourceType": "RecoveryServicesProvider" if scope == "fabric" else "ProtectionContainer",
                "affectedResourceSubtype": None,
                "affectedResourceCorrelationIds": [],
            },
        )
        entry["affectedResourceCorrelationIds"].append(b.fabric_guid(issue.region))
    return list(grouped.values())


def health_json(b: Backend) -> dict[str, Any]:
    vault_errors = [_vault_error_json(b, i) for i in b.infra_issues if i.scope == "vault"]
    return {
        "name": "Default",
        "type": HEALTH_TYPE,
        "id": f"{b.vault_id}/replicationVaultHealth/Default",
        "properties": {
            "vaultErrors": vault_errors,
            "protectedItemsHealth": {
                "resourceCount": len(b.items),
                "issues": _issues(b),
                "categorizedResourceCounts": _counts(b),
            },
            "fabricsHealth": {"resourceCount": 2, "issues": _infra_summary(b, "fabric"),
                              "categorizedResourceCounts": None},
            "containersHealth": {"resourceCount": 2, "issues": _infra_summary(b, "container"),
                                 "categorizedResourceCounts": None},
        },
    }  # fmt: skip


def event_json(b: Backend, event: Event) -> dict[str, Any]:
    other = b.topology.other_region(event.fabric_region)
    specific: dict[str, Any] = {"instanceType": "JobStatus"}
    if event.job_name:
        specific.update(
            {
                "jobId": b.job_id(event.job_name),
                "jobFriendlyName": event.job_friendly_name,
                "jobStatus": event.job_status,
                "affectedObjectType": "ProtectionEntity",
            }
        )
    item = b.items.get(event.item_name or "")
    return {
        "id": f"{b.vault_id}/replicationEvents/{event.name}",
        "name": event.name,
        "type": EVENT_TYPE,
        "properties": {
            "eventCode": topo.stable_guid("event", event.event_type, event.severity),
            "description": event.description,
            "eventType": event.event_type,
            "affectedObjectFriendlyName": event.affected_name,
            "affectedObjectCorrelationId": event.correlation_id,
            "severity": event.severity,
            "timeOfOccurrence": iso(event.time),
            "fabricId": b.fabric_id(event.fabric_region),
            "providerSpecificDetails": {
                "instanceType": "A2A",
                "protectedItemName": item.name if item else None,
                "fabricObjectId": b.vm_id(item, event.fabric_region) if item else None,
                "fabricName": topo.fabric_name(event.fabric_region),
                "fabricLocation": event.fabric_region,
                "remoteFabricName": topo.fabric_name(other),
                "remoteFabricLocation": other,
            },
            "eventSpecificDetails": specific,
            "healthErrors": list(event.health_errors),
        },
    }


__all__ = ["event_json", "health_error_json", "health_json", "job_json", "op_status_json", "plan_json"]
