"""Each readiness check on its own: the state and the reason for hand-built facts."""

from __future__ import annotations

from datetime import timedelta

from lib.domain.asr import AgentStatus, HealthIssue, VaultHealth
from lib.ports.compute import Usage
from lib.readiness import checks
from lib.readiness.model import Category, State
from lib.readiness.sizes import family_of, vcpus_of
from tests.unit.readiness.helpers import NOW, failed_over, plan, vm


def test_replication_health_states() -> None:
    assert checks.replication_health([vm("a"), vm("b")]).state is State.READY
    critical = checks.replication_health(
        [vm("a"), vm("b", replication_health="Critical", health_error_codes=("10008",))]
    )
    assert (critical.state, critical.items) == (State.ACTION_REQUIRED, ("b",))
    assert "b" in critical.reason and "10008" in critical.reason
    warning = checks.replication_health([vm("a", replication_health="Warning")])
    assert (warning.state, warning.items, warning.category) == (State.WARNING, ("a",), Category.REPLICATION)
    gone = checks.replication_health([failed_over("a", replication_health="Critical")])
    assert gone.state is State.WARNING and "failed over" in gone.reason


def test_rpo_against_the_policy_target() -> None:
    assert checks.rpo([vm("a", rpo_seconds=900)], None).state is State.READY
    over = checks.rpo([vm("a", rpo_seconds=900), vm("b", rpo_seconds=30)], 300)
    assert (over.state, over.items) == (State.ACTION_REQUIRED, ("a",)) and "a 900 s" in over.reason
    unknown = checks.rpo([vm("a", rpo_seconds=None)], 300)
    assert unknown.state is State.WARNING and "no RPO" in unknown.reason
    assert checks.rpo([vm("a", rpo_seconds=300)], 300).state is State.READY


def test_unplanned_failover_allowed_now() -> None:
    assert checks.failover_allowed([vm("a")], None).state is State.READY
    busy = checks.failover_allowed([vm("a"), vm("b", allowed_operations=frozenset())], None)
    assert (busy.state, busy.items) == (State.ACTION_REQUIRED, ("b",))
    blocked_plan = checks.failover_allowed([vm("a")], plan("p1", "a", ops=frozenset({"Commit"})))
    assert blocked_plan.state is State.ACTION_REQUIRED and "p1 allows Commit" in blocked_plan.reason


def test_test_failover_age_against_the_cadence_or_180_days() -> None:
    assert checks.test_failover_age([vm("a")], NOW, None).state is State.READY
    never = checks.test_failover_age([vm("a", last_successful_test_failover_time=None)], NOW, None)
    assert (never.state, never.category) == (State.WARNING, Category.FAILOVER_TEST) and "never" in never.reason
    old = vm("a", last_successful_test_failover_time=NOW - timedelta(days=181))
    assert "180 days" in checks.test_failover_age([old], NOW, None).reason
    assert checks.test_failover_age([vm("b", last_successful_test_failover_time=NOW - timedelta(days=179))], NOW,
                                    None).state is State.READY  # fmt: skip
    stale = checks.test_failover_age([vm("a", last_successful_test_failover_time=NOW - timedelta(days=8))], NOW, 7)
    assert stale.state is State.WARNING and "7-day drill cadence" in stale.reason


def test_cache_storage_for_every_region_vms_fail_over_to() -> None:
    account = "/subscriptions/s/resourceGroups/r/providers/Microsoft.Storage/storageAccounts/cachewus"
    assert checks.cache_storage([vm("a")], {"westus": account}).state is State.READY
    missing = checks.cache_storage([vm("a"), vm("b", recovery_location="centralus")], {"westus": account})
    assert (missing.state, missing.category) == (State.ACTION_REQUIRED, Category.MISSING_CONFIGURATIONS)
    assert missing.items == ("ASR_CACHE_STORAGE_ACCOUNTS[centralus]",)
    bad = checks.cache_storage([vm("a")], "ASR_CACHE_STORAGE_ACCOUNTS: 'x' is not region=<storage account id>")
    assert bad.state is State.ACTION_REQUIRED and "not region=" in bad.reason


def test_missing_resources() -> None:
    assert checks.missing_resources(["a"], [vm("a")], None).state is State.READY
    gone = checks.missing_resources(["a", "B"], [vm("a")], None)
    assert (gone.state, gone.items, gone.category) == (State.ACTION_REQUIRED, ("B",), Category.MISSING_RESOURCES)
    no_plan = checks.missing_resources([], [], "rp-x")
    assert no_plan.state is State.ACTION_REQUIRED and "rp-x is not in the vault" in no_plan.reason


def test_quota_in_the_recovery_region() -> None:
    roomy = [Usage("cores", 10, 100), Usage("standardDSv3Family", 0, 100)]
    assert checks.quota([vm("a"), vm("b")], "westus", roomy).state is State.READY
    tight = [Usage("cores", 10, 100), Usage("standardDSv3Family", 0, 6)]
    short = checks.quota([vm("a"), vm("b")], "westus", tight)
    assert (short.state, short.items) == (State.ACTION_REQUIRED, ("standardDSv3Family",))
    assert "standardDSv3Family needs 8, 6 free" in short.reason
    total = checks.quota([vm("a")], "westus", [Usage("cores", 98, 100)])
    assert total.state is State.ACTION_REQUIRED and "cores needs 4, 2 free" in total.reason
    # Failed-over VMs already run there: they need nothing more.
    assert checks.quota([failed_over("a")], "westus", [Usage("cores", 98, 100)]).state is State.READY
    unknown = checks.quota([vm("a", recovery_vm_size="Basic_A1")], "westus", roomy)
    assert unknown.state is State.WARNING and "unknown VM size" in unknown.reason and unknown.items == ("a",)
    unread = checks.quota([vm("a")], "westus", "HTTP 403 AuthorizationFailed")
    assert unread.state is State.WARNING and "403" in unread.reason


def test_vm_sizes() -> None:
    assert (vcpus_of("Standard_D4s_v3"), family_of("standard_d4s_v3")) == (4, "standardDSv3Family")
    assert (vcpus_of("Standard_E16as_v4"), family_of("Standard_E16as_v4")) == (16, None)
    assert vcpus_of("Basic_A1") is None and vcpus_of(None) is None


def test_agent_update_and_expiry() -> None:
    assert checks.agent_updates([vm("a")], NOW).state is State.READY
    update = checks.agent_updates([vm("a", agent=AgentStatus(update_required=True))], NOW)
    assert (update.state, update.category, update.items) == (State.WARNING, Category.SOFTWARE_UPDATES, ("a",))
    cert = checks.agent_updates([vm("a", agent=AgentStatus(certificate_update_required=True))], NOW)
    assert cert.state is State.WARNING
    soon = checks.agent_updates([vm("a", agent=AgentStatus(expiry=NOW + timedelta(days=5)))], NOW)
    assert soon.state is State.WARNING and "30 days" in soon.reason
    expired = checks.agent_updates([vm("a", agent=AgentStatus(certificate_expiry=NOW - timedelta(days=1)))], NOW)
    assert expired.state is State.ACTION_REQUIRED and "expired" in expired.reason


def test_vault_fabric_and_container_errors() -> None:
    assert checks.infrastructure(VaultHealth(1)).state is State.READY
    fabric = HealthIssue("708", "FabricInfrastructure", "Error", "heartbeat missing", 1, scope="fabric")
    bad = checks.infrastructure(VaultHealth(1, infrastructure_issues=(fabric,)))
    assert (bad.state, bad.items) == (State.ACTION_REQUIRED, ("fabric:708",)) and "heartbeat" in bad.reason
    warn = HealthIssue("2002", "Configuration", "Warning", "w", 1, scope="container")
    assert checks.infrastructure(VaultHealth(1, infrastructure_issues=(warn,))).state is State.WARNING
    assert checks.infrastructure("timed out").state is State.WARNING


def test_the_app_running_in_the_region_it_protects() -> None:
    same = checks.app_region("eastus", "eastus")
    assert same.state is State.ACTION_REQUIRED and "go down with it" in same.reason
    assert checks.app_region("westus", "eastus").state is State.READY
    assert checks.app_region("", "eastus").state is State.READY


def test_policy_errors() -> None:
    assert checks.policy_errors([]).state is State.READY
    bad = checks.policy_errors(["regions.eastus.mode: must be one of off, dry-run, approval, auto"])
    assert bad.state is State.ACTION_REQUIRED and "regions.eastus.mode" in bad.reason
