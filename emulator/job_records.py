"""Job records: creation, ASR error entries, and the end-of-job bookkeeping (outcome, freeing items, events)."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from emulator.backend import Backend
from emulator.clock import iso
from emulator.models import TFO_WAITING, Event, Item, Job, Task


def job_error(code: str, message: str, task_id: str, when: datetime, level: str = "Error") -> dict[str, Any]:
    """A ``JobErrorDetails`` entry (job and task ``errors[]``)."""
    return {
        "serviceErrorDetails": {
            "code": code,
            "message": message,
            "possibleCauses": "The operation failed in the emulated Site Recovery service.",
            "recommendedAction": "Retry the operation. If the issue persists, contact support.",
            "activityId": str(uuid.uuid4()),
        },
        "providerErrorDetails": None,
        "errorLevel": level,
        "creationTime": iso(when),
        "taskId": task_id,
    }


@dataclass
class Unit:
    """One item's part of a job: its tasks, when it ends, and the error if it failed."""

    item: Item
    tasks: list[Task]
    start: datetime
    end: datetime
    error: dict[str, Any] | None = None
    warning: dict[str, Any] | None = None


def finish_job(b: Backend, job: Job, units: list[Unit], *, keep_scenario: bool = False) -> None:
    """Set the job outcome from its units and schedule the end-of-job effects (items and plan freed)."""
    errors = [u.error for u in units if u.error]
    warnings = [u.warning for u in units if u.warning]
    job.errors = [*errors, *warnings]
    if errors:
        job.outcome, job.outcome_description = "Failed", "Failed"
    elif warnings:
        job.outcome, job.outcome_description = "Succeeded", "CompletedWithInformation"
    injected_state(b, job, units)

    def ended(at: datetime) -> None:
        for name in job.item_names:
            item = b.items[name]
            if item.busy_job == job.name:
                item.busy_job = None
                if not (keep_scenario and job.outcome == "Succeeded" and item.tfo_state == TFO_WAITING):
                    item.scenario = None
        if job.target_kind == "plan":
            plan = b.plans[job.target_name]
            plan.busy_job = None
            if job.outcome == "Succeeded" and keep_scenario:
                plan.scenario_status = ("Suspended", "WaitingForStopTestFailover")
            else:
                plan.scenario_status = (job.outcome, job.outcome_description)
        if job.outcome == "Failed":
            region = b.items[job.item_names[0]].primary if job.item_names else b.topology.primary_region
            b.add_event(
                Event(
                    name=b.next_event_name("JobStatus"),
                    time=at,
                    event_type="JobStatus",
                    severity="Critical",
                    description=f"{job.scenario} - Failed",
                    affected_name=job.target_object_name,
                    correlation_id=None,
                    fabric_region=region,
                    item_name=job.item_names[0] if len(job.item_names) == 1 else None,
                    job_name=job.name,
                    job_friendly_name=job.friendly_name,
                    job_status="Failed",
                    health_errors=[_event_error(e["serviceErrorDetails"]) for e in errors],
                )
            )

    b.schedule(job.end, ended, job)


# The faults' operation name of each job scenario.
SCENARIO_OPERATIONS = {
    "UnplannedFailover": "UnplannedFailover",
    "TestFailover": "TestFailover",
    "TestFailoverCleanup": "TestFailoverCleanup",
    "CommitFailover": "Commit",
    "SwitchReplicationGroupProtection": "SwitchProtection",
}


def injected_state(b: Backend, job: Job, units: list[Unit]) -> None:
    """``jobSuspended`` / ``jobPartiallySucceeded`` faults: states a real job can reach and the app must handle."""
    operation = SCENARIO_OPERATIONS.get(job.scenario)
    if operation is None:
        return
    for unit in units:
        if b.faults.match_job("jobSuspended", unit.item.vm, operation) is not None:
            job.suspended = True
        if job.outcome == "Succeeded" and b.faults.match_job("jobPartiallySucceeded", unit.item.vm, operation):
            job.outcome, job.outcome_description = "PartiallySucceeded", "PartiallySucceeded"


def _event_error(details: dict[str, Any]) -> dict[str, Any]:
    return {
        "errorCode": details["code"],
        "errorMessage": details["message"],
        "possibleCauses": details["possibleCauses"],
        "recommendedAction": details["recommendedAction"],
    }


def new_job(
    b: Backend,
    *,
    scenario: str,
    friendly: str,
    target_kind: str,
    target_name: str,
    object_name: str,
    object_id: str,
    instance_type: str,
    result_kind: str,
    result_ref: tuple[str, ...],
    item_names: list[str],
    start: datetime,
) -> tuple[Job, random.Random]:
    name, rng = b.job_rng()
    job = Job(
        name=name,
        scenario=scenario,
        friendly_name=friendly,
        target_kind=target_kind,
        target_name=target_name,
        target_object_name=object_name,
        target_object_id=object_id,
        target_instance_type=instance_type,
        start=start,
        end=start,
        result_kind=result_kind,
        result_ref=result_ref,
        item_names=item_names,
    )
    return job, rng
