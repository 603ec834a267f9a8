"""Our view of Site Recovery (A2A) resources: only the fields decisions are made on.

The adapter maps SDK models onto these; the workflows never see SDK types. Facts encoded here:
direction comes from ``primary_location`` vs ``initial_primary_location`` (``activeLocation`` is ``Primary``
in both protected directions); the item name never changes but its fabric/container does at each
switch-protection.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

# PartiallySucceeded ends a job too (some of its items or tasks failed); Suspended does not (waits for input).
TERMINAL_JOB_STATES = frozenset({"Succeeded", "Failed", "Cancelled", "PartiallySucceeded"})


class Operation(StrEnum):
    """Values of ``allowedOperations`` we act on."""

    UNPLANNED_FAILOVER = "UnplannedFailover"
    TEST_FAILOVER = "TestFailover"
    TEST_FAILOVER_CLEANUP = "TestFailoverCleanup"
    COMMIT = "Commit"
    SWITCH_PROTECTION = "SwitchProtection"
    DISABLE_PROTECTION = "DisableProtection"


class RecoveryPointType(StrEnum):
    LATEST = "Latest"
    LATEST_PROCESSED = "LatestProcessed"
    LATEST_APP_CONSISTENT = "LatestApplicationConsistent"
    LATEST_CRASH_CONSISTENT = "LatestCrashConsistent"


@dataclass(frozen=True)
class ItemRef:
    """Where a protected item lives right now (it moves at every switch-protection)."""

    fabric: str
    container: str
    name: str


@dataclass(frozen=True)
class AgentStatus:
    """The Mobility agent of an A2A item: the portal's "Software updates" come from these fields."""

    version: str = ""
    update_required: bool = False
    expiry: datetime | None = None
    certificate_update_required: bool = False
    certificate_expiry: datetime | None = None


@dataclass(frozen=True)
class ProtectedItem:
    id: str
    name: str
    vm_name: str
    fabric: str
    container: str
    protection_state: str
    protection_state_description: str
    active_location: str
    allowed_operations: frozenset[str]
    replication_health: str
    failover_health: str
    primary_location: str
    recovery_location: str
    initial_primary_location: str
    initial_recovery_location: str
    monitoring_percentage: int | None = None
    current_scenario: str = "None"
    current_job_name: str | None = None
    test_failover_state: str = "None"
    last_successful_failover_time: datetime | None = None
    last_successful_test_failover_time: datetime | None = None
    test_vm_name: str | None = None
    rpo_seconds: int | None = None
    health_error_codes: tuple[str, ...] = ()
    # ARM ids of the VM in the primary region (``fabricObjectId``) and, once failed over, in the recovery region:
    # how a resource-level health signal about a VM is matched to its item (compare case-insensitively).
    vm_id: str = ""
    recovery_vm_id: str | None = None
    recovery_vm_size: str | None = None  # the size the VM gets when it fails over
    agent: AgentStatus = field(default_factory=AgentStatus)

    @property
    def ref(self) -> ItemRef:
        return ItemRef(self.fabric, self.container, self.name)

    @property
    def in_original_direction(self) -> bool:
        return self.primary_location.lower() == self.initial_primary_location.lower()

    @property
    def failed_over(self) -> bool:
        return self.active_location == "Recovery"

    @property
    def healthy_and_protected(self) -> bool:
        return self.protection_state == "Protected" and self.replication_health == "Normal"

    def allows(self, operation: Operation) -> bool:
        return operation.value in self.allowed_operations


@dataclass(frozen=True)
class RecoveryPlan:
    name: str
    id: str
    allowed_operations: frozenset[str]
    primary_fabric_id: str
    recovery_fabric_id: str
    # Item names per group, in order; only Boot groups carry items for A2A.
    groups: tuple[tuple[str, ...], ...]
    current_scenario: str | None = None
    current_job_name: str | None = None

    def allows(self, operation: Operation) -> bool:
        return operation.value in self.allowed_operations

    @property
    def item_names(self) -> tuple[str, ...]:
        return tuple(name for group in self.groups for name in group)


@dataclass(frozen=True)
class JobError:
    code: str
    message: str
    level: str = "Error"  # ASR's errorLevel: a succeeded job may carry "Warning" entries (e.g. shutdown failed)


@dataclass(frozen=True)
class Job:
    name: str
    id: str
    scenario: str
    state: str
    state_description: str
    target_name: str
    target_type: str
    start_time: datetime | None
    end_time: datetime | None
    errors: tuple[JobError, ...] = ()
    new_item_id: str | None = None  # switch-protection: the item's ARM id under its new container
    tasks: tuple[tuple[str, str], ...] = ()  # (friendly name, state) in order
    allowed_actions: frozenset[str] = frozenset()  # what ASR lets you do to the job now ("Cancel", "Restart")
    # A failover job: the recovery point ASR used per VM, as (VM name, point id, point time). With "Latest" this
    # is the only place that says which data the VM came back with (in an outage, the lost tail's start).
    points: tuple[tuple[str, str, datetime], ...] = ()

    def point_of(self, vm: str) -> tuple[str, datetime] | None:
        """The recovery point (id, time) this failover job used for ``vm`` (names compared case-insensitively)."""
        return next(((pid, when) for name, pid, when in self.points if name.lower() == vm.lower()), None)

    @property
    def finished(self) -> bool:
        return self.state in TERMINAL_JOB_STATES

    @property
    def succeeded(self) -> bool:
        return self.state == "Succeeded"

    @property
    def cancellable(self) -> bool:
        """ASR offers ``Cancel`` on this running job (A2A failover jobs mostly do not)."""
        return not self.finished and "Cancel" in self.allowed_actions


@dataclass(frozen=True)
class RecoveryPoint:
    id: str
    name: str
    time: datetime
    kind: str  # "ApplicationConsistent" | "CrashConsistent"


@dataclass(frozen=True)
class HealthIssue:
    code: str
    category: str
    severity: str
    message: str
    affected: int
    scope: str = "item"  # item | vault | fabric | container


@dataclass(frozen=True)
class VaultHealth:
    item_count: int
    counts: dict[str, int] = field(default_factory=dict)  # categorizedResourceCounts as returned
    item_issues: tuple[HealthIssue, ...] = ()
    infrastructure_issues: tuple[HealthIssue, ...] = ()
