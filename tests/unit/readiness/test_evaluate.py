"""Evaluating targets: which targets, the worst check decides, stored form round-trips."""

from __future__ import annotations

from lib.domain.asr import VaultHealth
from lib.guard import Policy, PolicyErrors, policy_from_data
from lib.ports.compute import Usage
from lib.readiness import Observation, State, TargetReadiness, evaluate
from tests.unit.readiness.helpers import NOW, plan, vm

ACCOUNTS = {"westus": "/subscriptions/s/resourceGroups/r/providers/Microsoft.Storage/storageAccounts/c"}
USAGES = {"westus": [Usage("cores", 0, 100), Usage("standardDSv3Family", 0, 100)]}


def _policy(**region: object) -> Policy:
    parsed = policy_from_data({"regions": {"eastus": {"targets": [{"vms": ["a", "b"]}], **region}}})
    assert isinstance(parsed, Policy)
    return parsed


def _obs(policy: Policy | PolicyErrors, **kw: object) -> Observation:
    fields: dict[str, object] = {"now": NOW, "policy": policy, "items": [vm("a"), vm("b"), vm("c")],
                                 "plans": [plan("rp1", "c")], "vault_health": VaultHealth(3), "usages": USAGES,
                                 "cache_accounts": ACCOUNTS, "app_region": "westus"}  # fmt: skip
    fields.update(kw)
    return Observation(**fields)  # type: ignore[arg-type]


def test_policy_targets_and_the_vaults_plans_are_evaluated_ready() -> None:
    results = {r.target: r for r in evaluate(_obs(_policy()))}
    assert set(results) == {"vms:a,b", "plan:rp1"}
    assert results["vms:a,b"].state is State.READY, results["vms:a,b"].reasons
    assert results["vms:a,b"].region == "eastus" and results["plan:rp1"].region == "eastus"
    assert {c.name for c in results["vms:a,b"].checks} >= {"replication health", "RPO", "vCPU quota", "app region"}


def test_the_worst_check_decides_and_reasons_come_worst_first() -> None:
    obs = _obs(_policy(rpoTargetSeconds=30), items=[vm("a", rpo_seconds=90), vm("b", replication_health="Warning")])
    result = next(r for r in evaluate(obs) if r.target == "vms:a,b")
    assert result.state is State.ACTION_REQUIRED
    assert result.reasons[0].startswith("RPO: over the 30 s target") and "replication health" in result.reasons[1]


def test_a_bad_policy_still_evaluates_the_plans_and_says_so() -> None:
    bad = policy_from_data({"regions": {"eastus": {"mode": "sometimes"}}})
    assert isinstance(bad, PolicyErrors)
    (only,) = evaluate(_obs(bad))
    assert only.target == "plan:rp1" and only.state is State.ACTION_REQUIRED
    assert any(c.name == "policy" and "regions.eastus" in c.reason for c in only.checks)


def test_failed_reads_make_a_warning_not_a_crash() -> None:
    (result, _plan) = evaluate(_obs(_policy(), items="HTTP 503", usages={}))
    assert result.state is State.WARNING
    assert any("could not read the protected items: HTTP 503" in r for r in result.reasons)


def test_the_app_in_the_protected_region_and_a_missing_cache_account() -> None:
    result = evaluate(_obs(_policy(), app_region="eastus", cache_accounts={}))[0]
    names = {c.name for c in result.checks if c.state is State.ACTION_REQUIRED}
    assert names == {"app region", "cache storage for reprotect"}


def test_stored_form_round_trips() -> None:
    result = evaluate(_obs(_policy(rpoTargetSeconds=30), items=[vm("a", rpo_seconds=90), vm("b")]))[0]
    again = TargetReadiness.from_json(result.to_json())
    assert again == result and again.to_json()["state"] == "ActionRequired"


def test_quota_is_weighed_where_the_vms_would_fail_over_to_now() -> None:
    reversed_vms = [vm(n, primary_location="westus", recovery_location="eastus") for n in ("a", "b")]
    usages = {"eastus": [Usage("cores", 0, 4)], "westus": [Usage("cores", 0, 100)]}
    result = evaluate(_obs(_policy(), items=reversed_vms, usages=usages))[0]
    quota = next(c for c in result.checks if c.name == "vCPU quota")
    assert quota.state is State.ACTION_REQUIRED and "in eastus" in quota.reason
