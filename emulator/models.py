"""Emulator state: protected items, recovery plans, jobs (with tasks), events.

Items keep only *stable* states (asr-api.md §6.2 recommendation): while a job runs the item keeps its
previous ``protectionState`` and reports ``allowedOperations: []`` and the job in ``currentScenario``.
Jobs are fully scheduled when they are created (task start/end in emulated time); the backend applies their
effects lazily when the clock passes them, so every read sees the state "as of now".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

PROTECTED = "Protected"
IR = "InitialReplicationInProgress"
COMMIT_PENDING = "UnplannedFailoverCommitPendingStatesBegin"
COMMITTED = "UnplannedFailoverCommitted"

STATE_DESCRIPTIONS = {
    PROTECTED: "Protected",
    IR: "Initial replication is in progress",
    COMMIT_PENDING: "Failover completed",
    COMMITTED: "Failover committed",
}
# Provider-level (providerSpecificDetails.vmProtectionState) counterpart of each stable state.
VM_PROTECTION_STATES = {
    PROTECTED: ("Protected", "Protected"),
    IR: ("UnprotectedStatesBegin", "Enabling protection"),
    COMMIT_PENDING: ("UnplannedFailoverCommitPendingStatesBegin", "Failover completed"),
    COMMITTED: ("UnplannedFailoverCommitted", "Failover committed"),
}

# allowedOperations per stable state (asr-api.md §7.1; row 3 is an inference).
ALLOWED = {
    PROTECTED: ["UnplannedFailover", "DisableProtection", "TestFailover"],
    IR: ["DisableProtection"],
    COMMIT_PENDING: ["CompleteMigration", "Commit", "DisableProtection", "ChangePit"],
    COMMITTED: ["CompleteMigration", "DisableProtection", "SwitchProtection"],
}
TFO_WAITING_ALLOWED = ["TestFailoverCleanup"]

TFO_NONE = "None"
TFO_WAITING = "WaitingForCompletion"
TFO_MARKED = "MarkedForDeletion"  # after a cleanup, before the test VM's records are gone
TFO_DESCRIPTIONS = {TFO_NONE: "None", TFO_WAITING: "Waiting for user input", TFO_MARKED: "Marked for deletion"}
TFO_MARKED_LINGER = timedelta(minutes=10)  # emulated; how long MarkedForDeletion shows after a cleanup


# A new job reads NotStarted this long (emulated) before InProgress, as ASR queues it first.
JOB_QUEUED = timedelta(seconds=2)
JOB_TERMINAL = ("Succeeded", "Failed", "Cancelled", "PartiallySucceeded")


@dataclass
class HealthIssue:
    """A health error on an item (``healthErrors[]``), e.g. 161011 'no test failover'."""

    code: str
    category: str  # HealthErrorCategory
    level: str  # Warning | Error
    message: str
    created: datetime
    possible_causes: str = ""
    recommended_action: str = ""
    source: str = "ReplicationUnitFailoverValidatorError"
    error_type: str = "8010"
    affects_replication: bool = False  # counts towards replicationHealth (else failoverHealth only)


def no_tfo_issue(vm: str, created: datetime) -> HealthIssue:
    return HealthIssue(
        code="161011",
        category="TestFailover",
        level="Warning",
        message=f"No successful test failover has been done on the virtual machine '{vm}'.",
        created=created,
        possible_causes="No successful test failover has been done on the virtual machine after it was replicated.",
        recommended_action="Do a test failover on the virtual machine.",
    )


@dataclass
class AgentStatus:
    """The Mobility agent's fields on an A2A item (``providerSpecificDetails``): the "Software updates" inputs."""

    version: str = "9.65.7397.1"
    expiry: str = "9999-12-31T23:59:59.9999999Z"
    update_required: bool = False
    certificate_expiry: str = "2027-01-15T08:53:51Z"
    certificate_update_required: bool = False


@dataclass
class InfraIssue:
    """A vault, fabric or container health error (``replicationVaultHealth``), injected through the admin API."""

    scope: str  # vault | fabric | container
    region: str  # the fabric's / container's region ("" for the vault)
    code: str
    category: str
    level: str
    message: str
    created: datetime


@dataclass
class Usage:
    """One compute usage counter of a region (``Microsoft.Compute/locations/{region}/usages``)."""

    name: str  # "cores" or a family such as "standardDSv2Family"
    localized: str
    limit: int
    extra_used: int = 0  # vCPUs used by VMs outside the vault


@dataclass
class Scenario:
    name: str
    job_name: str
    start: datetime


@dataclass
class Item:
    vm: str
    name: str
    guid: str
    disk_gib: int
    vm_resource_group: str
    recovery_resource_group: str
    initial_primary: str
    initial_recovery: str
    primary: str  # current source region: the item lives in this region's fabric/container
    state: str = PROTECTED
    tfo_state: str = TFO_NONE
    busy_job: str | None = None
    scenario: Scenario | None = None
    last_failover_time: datetime | None = None
    last_tfo_time: datetime | None = None
    failover_rp_id: str | None = None
    event_correlation_id: str = ""
    lifecycle_id: str | None = None
    protected_since: datetime | None = None
    ir_start: datetime | None = None
    ir_end: datetime | None = None
    ir_stall_step: int | None = None  # the monitoring refresh at which the percentage does not move
    monitoring_pct: int | None = 0
    monitoring_job_type: str | None = "InitialReplication"
    health: list[HealthIssue] = field(default_factory=list)
    vm_running: dict[str, bool] = field(default_factory=dict)  # region -> VM running there
    test_vm_running: bool = False
    tfo_network_id: str | None = None
    rpo_seconds: int | None = 393
    last_rpo_time: datetime | None = None
    vm_size: str = "Standard_DS1_v2"
    agent: AgentStatus = field(default_factory=AgentStatus)

    @property
    def recovery(self) -> str:
        return self.initial_recovery if self.primary == self.initial_primary else self.initial_primary

    @property
    def active_location(self) -> str:
        return "Recovery" if self.state in (COMMIT_PENDING, COMMITTED) else "Primary"

    @property
    def running_in(self) -> str:
        """Region where the workload runs now."""
        return self.recovery if self.active_location == "Recovery" else self.primary

    @property
    def forward(self) -> bool:
        return self.primary == self.initial_primary

    def allowed_operations(self) -> list[str]:
        if self.busy_job is not None:
            return []
        if self.state == PROTECTED and self.tfo_state == TFO_WAITING:
            return list(TFO_WAITING_ALLOWED)
        return list(ALLOWED[self.state])

    def protection_state_description(self) -> str:
        if self.state == PROTECTED and self.tfo_state == TFO_WAITING:
            return "Cleanup test failover pending"
        return STATE_DESCRIPTIONS[self.state]

    def replication_health(self) -> str:
        levels = {issue.level for issue in self.health if issue.affects_replication}
        return "Critical" if "Error" in levels else "Warning" if levels else "Normal"

    def failover_health(self) -> str:
        levels = {issue.level for issue in self.health}
        return "Critical" if "Error" in levels else "Warning" if levels else "Normal"

    def vm_resource_group_in(self, region: str) -> str:
        """The VM runs in its own RG in the original region and in the ASR target RG in the other one."""
        return self.vm_resource_group if region == self.initial_primary else self.recovery_resource_group


@dataclass
class Task:
    task_id: str
    name: str
    friendly_name: str
    start: datetime
    end: datetime
    outcome: str = "Succeeded"  # Succeeded | Failed | Skipped | NotRun
    errors: list[dict[str, Any]] = field(default_factory=list)
    children: list[Task] = field(default_factory=list)
    task_type: str = "TaskDetails"
    done_friendly_name: str | None = None  # group tasks are renamed when done ("... (1)")
    job_task: dict[str, Any] | None = None  # JobTaskDetails.jobTask: the child job this task runs

    def state(self, now: datetime) -> tuple[str, str]:
        if self.outcome == "Skipped":
            return "Other", "Skipped"
        if self.outcome == "NotRun" or now < self.start:
            return "NotStarted", "NotStarted"
        if now < self.end:
            return "InProgress", "InProgress"
        if self.outcome == "Failed":
            return "Failed", "Failed"
        if self.outcome == "Warning":
            return "Succeeded", "CompletedWithInformation"
        return "Succeeded", "Completed"


@dataclass
class Job:
    name: str
    scenario: str
    friendly_name: str
    target_kind: str  # item | plan | container | vault
    target_name: str  # item name / plan name / "Default"
    target_object_name: str  # VM name or plan name
    target_object_id: str
    target_instance_type: str  # ProtectionEntity | RecoveryPlan | Vault
    start: datetime
    end: datetime
    outcome: str = "Succeeded"  # Succeeded | Failed | Cancelled
    outcome_description: str = "Completed"
    tasks: list[Task] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    custom_details: dict[str, Any] = field(default_factory=dict)
    result_kind: str = "items.get"  # which resource the LRO final GET returns
    result_ref: tuple[str, ...] = ()  # key of that resource (item name / plan name / container region)
    item_names: list[str] = field(default_factory=list)
    cancelled_at: datetime | None = None
    # Filled when the job succeeds (switch-protection: item's ARM id under its new container).
    new_item_id: str | None = None
    suspended: bool = False  # a jobSuspended fault: the job reads Suspended (waiting for input) while it runs

    def state(self, now: datetime) -> tuple[str, str]:
        if self.cancelled_at is not None and now >= self.cancelled_at:
            return "Cancelled", "Cancelled"
        if now < self.start + JOB_QUEUED:
            return "NotStarted", "NotStarted"  # a new job is queued briefly before it runs
        if now < self.end:
            return ("Suspended", "WaitingForUserInput") if self.suspended else ("InProgress", "InProgress")
        return self.outcome, self.outcome_description

    def finished(self, now: datetime) -> bool:
        return self.state(now)[0] in JOB_TERMINAL

    def finish_time(self) -> datetime:
        return self.cancelled_at if self.cancelled_at is not None else self.end

    def cancellable(self, now: datetime) -> bool:
        """Whether ``allowedActions`` offers ``Cancel`` now (see ``CANCELLABLE_UNTIL``)."""
        if self.finished(now) or self.scenario not in CANCELLABLE_UNTIL:
            return False
        until = CANCELLABLE_UNTIL[self.scenario]
        task = next((t for t in self.tasks if t.task_id == until), None) if until else None
        return task is None or now < task.start


# Jobs ASR lets you cancel, and the task from which on it no longer does (None: until the job ends). A test
# failover touches nothing in production; a reprotect can stop before it starts replicating the VM. A failover
# (A2A cannot undo one), a commit, a cleanup and the other jobs cannot be cancelled.
CANCELLABLE_UNTIL: dict[str, str | None] = {
    "TestFailover": None,
    "SwitchReplicationGroupProtection": "ProtectReplicaTask",
}


@dataclass
class Plan:
    name: str
    guid: str
    groups: list[list[str]]  # item names per boot group
    busy_job: str | None = None
    scenario: Scenario | None = None
    scenario_status: tuple[str, str] | None = None
    last_unplanned_failover: datetime | None = None
    last_test_failover: datetime | None = None

    @property
    def item_names(self) -> list[str]:
        return [name for group in self.groups for name in group]


@dataclass
class Event:
    name: str
    time: datetime
    event_type: str  # JobStatus | VmHealth
    severity: str  # Critical | Warning | OK
    description: str
    affected_name: str
    correlation_id: str | None
    fabric_region: str
    item_name: str | None = None
    job_name: str | None = None
    job_friendly_name: str | None = None
    job_status: str | None = None
    health_errors: list[dict[str, Any]] = field(default_factory=list)
