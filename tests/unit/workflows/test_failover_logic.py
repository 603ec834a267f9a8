"""Workflow decisions on a hand-written fake ASR: order of actions, refusals, partial failure, resume."""

from __future__ import annotations

from datetime import timedelta

import pytest

from lib.domain.dr import parse_request
from lib.domain.errors import ValidationError
from lib.domain.events import DRILL_COMPLETED, REPROTECT_OVERDUE, RUN_FAILED
from lib.engine import Decide, Done, Fail, Next, StepContext, Wait
from lib.workflows.drill import DRILL_WORKFLOW
from lib.workflows.failover import FAILBACK_WORKFLOW, FAILOVER_WORKFLOW
from tests.unit.workflows.fake_asr import T0, FakeSiteRecovery
from tests.unit.workflows.harness import RecordingNotifier, ScriptedProbe, make_deps, run

FAST = {"jobPollSeconds": 1, "healthPollSeconds": 1, "healthPollMaxSeconds": 4}


def req(kind: str = "failover", **extra: object) -> dict[str, object]:
    body: dict[str, object] = {"target": {"vms": ["web-1", "web-2"]}, "timing": FAST, **extra}
    return parse_request(kind, body).to_json()


def test_failover_runs_every_phase_once_per_vm_and_ends_healthy_in_reverse() -> None:
    asr = FakeSiteRecovery(["web-1", "web-2"], job_polls=2)
    result = run(FAILOVER_WORKFLOW, make_deps(asr), req())
    assert isinstance(result.outcome, Done) and not result.outcome.partial
    kinds = [a for a, _ in asr.actions]
    assert kinds == ["failover", "failover", "commit", "commit", "reprotect", "reprotect"]
    for vm in ("web-1", "web-2"):
        item = asr.items[vm]
        assert (item.primary_location, item.protection_state, item.replication_health) == (
            "westus",
            "Protected",
            "Normal",
        )
        assert result.state["vms"][vm]["done"] == ["failover", "commit", "reprotect", "healthy"]
    evidence = result.state["evidence"]
    # Trigger and failover start at T0 (our clock), the fake's failover job takes 3 min; the newest point
    # (LatestProcessed) is the crash-consistent one from 5 min before the job started.
    assert evidence["vms"]["web-1"]["rto_s"] == 180.0 and evidence["vms"]["web-1"]["rpo_s"] == 300.0
    assert (evidence["rto_s"], evidence["rpo_s"]) == (180.0, 300.0)


def test_without_auto_reprotect_the_verdict_says_the_vms_are_unprotected() -> None:
    asr = FakeSiteRecovery(["web-1", "web-2"], job_polls=1)
    result = run(FAILOVER_WORKFLOW, make_deps(asr), req(autoReprotect=False))
    assert isinstance(result.outcome, Done)
    assert [a for a, _ in asr.actions] == ["failover", "failover", "commit", "commit"]
    assert "NOT protected" in result.outcome.reason and "protected and healthy" not in result.outcome.reason
    done = run(FAILOVER_WORKFLOW, make_deps(FakeSiteRecovery(["web-1", "web-2"], job_polls=1)), req())
    assert isinstance(done.outcome, Done) and done.outcome.reason.endswith("every VM protected and healthy")


def test_groups_run_in_order_and_parallelism_is_bounded() -> None:
    asr = FakeSiteRecovery(["db", "app-1", "app-2", "app-3"], job_polls=3)
    body = parse_request(
        "failover", {"target": {"groups": [["db"], ["app-1", "app-2", "app-3"]]}, "parallelism": 2, "timing": FAST}
    ).to_json()
    run(FAILOVER_WORKFLOW, make_deps(asr), body)
    failovers = [vm for a, vm in asr.actions if a == "failover"]
    assert failovers[0] == "db"
    # With 2 slots, app-3 can only start after one of app-1/app-2 finished: never 3 jobs at once.
    assert set(failovers[1:3]) == {"app-1", "app-2"} and failovers[3] == "app-3"


def test_failed_job_for_one_vm_gives_partial_success_and_resume_retries_only_it() -> None:
    asr = FakeSiteRecovery(["web-1", "web-2"])
    asr.fail_next[("failover", "web-2")] = "70094"
    deps = make_deps(asr)
    first = run(FAILOVER_WORKFLOW, deps, req(), decide="commit")
    assert isinstance(first.outcome, Done) and first.outcome.partial
    assert first.state["vms"]["web-2"]["error"]["code"] == "70094"
    assert first.state["evidence"]["vms"]["web-2"]["outcome"] == "failed"

    restart = FAILOVER_WORKFLOW.on_resume
    assert restart is not None
    state = first.state
    step = restart(state, "report")
    assert step == "failover"
    before = list(asr.actions)
    second = run(FAILOVER_WORKFLOW, deps, req(), state=state, start_at=step)
    assert isinstance(second.outcome, Done) and not second.outcome.partial
    assert [vm for _a, vm in asr.actions[len(before) :]] == ["web-2", "web-2", "web-2"]


def test_running_job_is_adopted_not_started_again() -> None:
    asr = FakeSiteRecovery(["web-1"], job_polls=3)
    deps = make_deps(asr)
    body = {**req(), "vms": ["web-1"], "groups": [["web-1"]]}
    ctx = StepContext("run-1", "failover", "preflight", body, {}, T0, T0, T0)
    assert isinstance(FAILOVER_WORKFLOW.step("preflight").run(ctx, deps), Next)
    # The failover step started the action, then the worker died before its checkpoint.
    asr.unplanned_failover(asr.items["web-1"].ref, shutdown_source=True, recovery_point_id=None)
    result = run(FAILOVER_WORKFLOW, deps, body, state=ctx.state, start_at="failover")
    assert isinstance(result.outcome, Done) and not result.outcome.partial
    assert [a for a, _ in asr.actions] == ["failover", "commit", "reprotect"]
    assert result.state["vms"]["web-1"]["jobs"]["failover"] == "job-1"


def test_failback_refused_while_reprotect_still_running() -> None:
    asr = FakeSiteRecovery(["web-1"], ir_polls=50)
    deps = make_deps(asr)
    body = {**req(), "vms": ["web-1"], "groups": [["web-1"]]}
    # Fail over and stop as soon as reprotect started (health timeout tiny): replication is not yet done.
    timing = {**FAST, "reprotect_warn_s": 1, "reprotect_max_s": 2}
    run(FAILOVER_WORKFLOW, deps, {**body, "timing": timing})
    refused = run(FAILBACK_WORKFLOW, make_deps(asr), {**body, "kind": "failback"})
    assert isinstance(refused.outcome, Fail) and refused.outcome.code == "PreflightFailed"
    assert "still being established" in refused.outcome.error


def test_failback_refused_when_items_are_in_original_direction() -> None:
    asr = FakeSiteRecovery(["web-1"])
    refused = run(FAILBACK_WORKFLOW, make_deps(asr), req("failback"))
    assert isinstance(refused.outcome, Fail)
    assert "original direction" in refused.outcome.error and asr.actions == []


def test_reprotect_too_slow_warns_then_fails_with_reason() -> None:
    asr = FakeSiteRecovery(["web-1"], ir_polls=1000)
    deps = make_deps(asr)
    timing = {
        "job_poll_s": 1,
        "health_poll_s": 60,
        "health_poll_max_s": 60,
        "reprotect_warn_s": 120,
        "reprotect_max_s": 600,
    }
    result = run(FAILOVER_WORKFLOW, deps, {**req(), "vms": ["web-1"], "groups": [["web-1"]], "timing": timing})
    assert isinstance(result.outcome, Fail) and result.outcome.code == "ReprotectTimeout"
    notifier = deps.notifier
    assert isinstance(notifier, RecordingNotifier)
    kinds = [e[0] for e in notifier.events]
    assert kinds.count(REPROTECT_OVERDUE) == 1 and kinds[-1] == RUN_FAILED
    overdue = next(data for kind, _, data in notifier.events if kind == REPROTECT_OVERDUE)
    assert overdue["vms"] == {"web-1": overdue["vms"]["web-1"]} and overdue["runUrl"].endswith(overdue["runId"])
    warned = [o for s, o in result.history if s == "await_healthy" and "warning" in o.details]
    assert len(warned) == 1


def test_polls_read_every_running_job_with_one_listing_and_the_vault_with_one_listing_per_poll() -> None:
    asr = FakeSiteRecovery([f"vm-{i}" for i in range(30)], ir_polls=4)
    deps = make_deps(asr)
    body = parse_request(
        "failover",
        {
            "target": {"vms": [f"vm-{i}" for i in range(30)]},
            "parallelism": 30,
            "timing": {**FAST, "healthPollMaxSeconds": 100},
        },
    ).to_json()
    result = run(FAILOVER_WORKFLOW, deps, body)
    polls = [o for s, o in result.history if s == "await_healthy"]
    delays = [o.delay for o in polls if isinstance(o, Wait)]
    # Initial replication takes 4 listings in the fake: 4 waits of healthPollSeconds (no rate yet, then the
    # predicted end is near: the dense pace, never slower than healthPollSeconds).
    assert delays == [timedelta(seconds=1)] * 4
    # Exactly one vault-wide listing per call of a step that observes ASR, whatever the number of VMs.
    observing = {"preflight", "failover", "commit", "reprotect", "await_healthy"}
    assert asr.list_calls == sum(1 for step, _o in result.history if step in observing)
    # The 30 running jobs of a phase are read with one startTime-filtered listing per call, never a GET each.
    job_polls = [
        o
        for s, o in result.history
        if s in {"failover", "commit", "reprotect"} and isinstance(o, Wait) and o.reason.endswith(" 0 started")
    ]
    assert asr.job_gets == 0 and asr.job_lists == len(job_polls) + 3  # + each phase's closing call


def test_auto_commit_off_pauses_before_commit() -> None:
    asr = FakeSiteRecovery(["web-1", "web-2"])
    paused = run(FAILOVER_WORKFLOW, make_deps(asr), req(autoCommit=False))
    assert isinstance(paused.outcome, Decide) and paused.outcome.decision == "commit"
    assert paused.outcome.choices == ("commit", "rollback")
    assert [a for a, _ in asr.actions] == ["failover", "failover"]


def test_drill_validation_failure_still_cleans_up() -> None:
    asr = FakeSiteRecovery(["web-1"])
    probe = ScriptedProbe([False])
    net = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/isolated"
    body = parse_request(
        "drill", {"target": {"vms": ["web-1"]}, "testNetworkId": net, "probeUrl": "http://127.0.0.1:1/", "timing": FAST}
    ).to_json()
    deps = make_deps(asr, probe)
    result = run(DRILL_WORKFLOW, deps, body)
    assert isinstance(result.outcome, Fail) and result.outcome.code == "DrillFailed"
    assert [a for a, _ in asr.actions] == ["test", "cleanup"]
    assert isinstance(deps.notifier, RecordingNotifier)
    [drill] = [data for kind, _, data in deps.notifier.events if kind == DRILL_COMPLETED]
    assert drill["passed"] is False and drill["validation"]["ok"] is False
    assert asr.items["web-1"].test_failover_state == "None" and probe.calls == 5


def test_drill_passes_and_moves_last_test_failover_time() -> None:
    asr = FakeSiteRecovery(["web-1", "web-2"])
    net = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/isolated"
    drill = {"target": {"vms": ["web-1", "web-2"]}, "testNetworkId": net, "timing": FAST}
    body = parse_request("drill", drill).to_json()
    deps = make_deps(asr)
    result = run(DRILL_WORKFLOW, deps, body)
    assert isinstance(result.outcome, Done)
    assert all(i.last_successful_test_failover_time == T0 for i in asr.items.values())  # was None
    assert isinstance(deps.notifier, RecordingNotifier)
    [completed] = [data for kind, _, data in deps.notifier.events if kind == DRILL_COMPLETED]
    assert completed["passed"] is True and completed["failedVms"] == []
    assert completed["runUrl"] == f"/api/runs/{completed['runId']}"
    assert all(i.primary_location == "eastus" for i in asr.items.values())  # production untouched


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "target"),
        ({"target": {"recoveryPlan": "p", "vms": ["a"]}}, "target"),
        ({"target": {"vms": []}}, "target.vms"),
        ({"target": {"vms": ["a", "A"]}}, "target.vms"),
        ({"target": {"vms": ["bad name"]}}, "target.vms"),
        ({"target": {"vms": ["a"]}, "recoveryPoint": "Newest"}, "recoveryPoint"),
        ({"target": {"vms": ["a", "b"]}, "recoveryPoint": "/x/recoveryPoints/1"}, "recoveryPoint"),
        ({"target": {"vms": ["a"]}, "shutdownSource": "yes"}, "shutdownSource"),
        ({"target": {"vms": ["a"]}, "parallelism": 0}, "parallelism"),
        ({"target": {"vms": ["a"]}, "timing": {"jobPollSeconds": -1}}, "timing.jobPollSeconds"),
        ({"target": {"groups": [["a"], ["a"]]}}, "target.groups"),
    ],
)
def test_bad_requests_name_the_field(body: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as err:
        parse_request("failover", body)
    assert err.value.field == field


def test_drill_requires_a_test_network() -> None:
    with pytest.raises(ValidationError) as err:
        parse_request("drill", {"target": {"vms": ["a"]}})
    assert err.value.field == "testNetworkId"


def test_timing_defaults_match_the_documented_thresholds() -> None:
    timing = parse_request("failover", {"target": {"vms": ["a"]}}).timing
    assert timedelta(seconds=timing.reprotect_warn_s) == timedelta(hours=2)
    assert timedelta(seconds=timing.reprotect_max_s) == timedelta(hours=8)
