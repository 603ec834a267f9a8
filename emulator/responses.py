"""ARM handlers: one function per route name of ``urls.ROUTES``; each returns a ``Response``.

Handlers run under the backend lock after ``sync()``, with ``now`` = the emulated time of the request.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from emulator import actions, arm_resources, compute, plan_actions, shapes, vault_shapes
from emulator.arm import Handler, Request, Response, accepted, ok, page, parse_filter
from emulator.backend import Backend
from emulator.clock import parse_iso
from emulator.errors import BadRequest, NotFound, OperationNotAllowed
from emulator.models import Job


def _item(b: Backend, req: Request) -> Any:
    return b.item_at(
        req.param("fabricName"), req.param("protectionContainerName"), req.param("replicatedProtectedItemName")
    )


# --- protected items and recovery points -------------------------------------------------------------------
# Only the fields the REST spec documents (ProtectedItemsQueryParameter); what ASR does with others is unknown,
# so they are ignored here and the app must not rely on them (vCenterName and processServerId are ignored too).
ITEM_FILTERS: dict[str, Callable[[Backend, Any], str]] = {
    "sourcefabricname": lambda b, i: f"asr-a2a-default-{i.primary}",
    "sourcefabriclocation": lambda b, i: i.primary,
    "fabricobjectid": lambda b, i: b.vm_id(i, i.primary),
    "instancetype": lambda b, i: "A2A",
    "multivmgroupcreateoption": lambda b, i: "AutoCreated",
}


def items_list(b: Backend, req: Request, now: datetime) -> Response:
    clauses = parse_filter(req.query.get("$filter"))
    items = sorted(b.items.values(), key=lambda i: i.name)
    for field_name, value in clauses.items():
        if field_name == "recoveryplanname":
            names = {n for p in b.plans.values() if p.name.lower() == value.lower() for n in p.item_names}
            items = [i for i in items if i.name in names]
        elif field_name in ITEM_FILTERS:
            getter = ITEM_FILTERS[field_name]
            items = [i for i in items if getter(b, i).lower() == value.lower()]
    return page(b, req, [shapes.item_json(b, i, now) for i in items])


def items_list_by_container(b: Backend, req: Request, now: datetime) -> Response:
    region = b.region_of_container(req.param("fabricName"), req.param("protectionContainerName"))
    if region is None:
        raise NotFound(f"The protection container '{req.param('protectionContainerName')}' was not found.")
    items = sorted((i for i in b.items.values() if i.primary == region), key=lambda i: i.name)
    return page(b, req, [shapes.item_json(b, i, now) for i in items])


def items_get(b: Backend, req: Request, now: datetime) -> Response:
    return ok(shapes.item_json(b, _item(b, req), now))


def _item_action(fn: Callable[[Backend, Any, Any, datetime], Job]) -> Handler:
    def handler(b: Backend, req: Request, now: datetime) -> Response:
        item = _item(b, req)
        path = b.item_id(item)
        return accepted(b, req, fn(b, item, req.body, now), path)

    return handler


def items_failover_commit(b: Backend, req: Request, now: datetime) -> Response:
    item = _item(b, req)
    return accepted(b, req, actions.failover_commit(b, item, now), b.item_id(item))


def items_not_a2a(operation: str) -> Handler:
    def handler(b: Backend, req: Request, now: datetime) -> Response:
        item = _item(b, req)
        raise OperationNotAllowed(operation, item.vm, item.allowed_operations(),
                                  reason="Azure-to-Azure replication does not support this operation.")  # fmt: skip

    return handler


def points_list(b: Backend, req: Request, now: datetime) -> Response:
    item = _item(b, req)
    return page(b, req, [shapes.point_json(b, item, p) for p in b.recovery_points(item, now)])


def points_get(b: Backend, req: Request, now: datetime) -> Response:
    item = _item(b, req)
    b.recovery_points(item, now)
    point = b.issued_points.get(item.name, {}).get(req.param("recoveryPointName"))
    if point is None:
        raise NotFound(f"The recovery point '{req.param('recoveryPointName')}' was not found.")
    return ok(shapes.point_json(b, item, point))


# --- fabrics and containers ------------------------------------------------------------------------------
def _regions(b: Backend) -> list[str]:
    return [b.topology.primary_region, b.topology.recovery_region]


def fabrics_list(b: Backend, req: Request, now: datetime) -> Response:
    return page(b, req, [shapes.fabric_json(b, r) for r in _regions(b)])


def _fabric_region(b: Backend, req: Request) -> str:
    region = b.region_of_fabric(req.param("fabricName"))
    if region is None:
        # ASR answers 400, not 404, for a missing fabric (asr-api.md §11).
        raise BadRequest(f"The fabric '{req.param('fabricName')}' does not exist.", inner_code="FabricNotFound")
    return region


def fabrics_get(b: Backend, req: Request, now: datetime) -> Response:
    return ok(shapes.fabric_json(b, _fabric_region(b, req)))


def containers_list(b: Backend, req: Request, now: datetime) -> Response:
    return page(b, req, [shapes.container_json(b, r) for r in _regions(b)])


def containers_list_by_fabric(b: Backend, req: Request, now: datetime) -> Response:
    return page(b, req, [shapes.container_json(b, _fabric_region(b, req))])


def containers_get(b: Backend, req: Request, now: datetime) -> Response:
    region = b.region_of_container(req.param("fabricName"), req.param("protectionContainerName"))
    if region is None:
        raise NotFound(f"The protection container '{req.param('protectionContainerName')}' was not found.")
    return ok(shapes.container_json(b, region))


def containers_switch_protection(b: Backend, req: Request, now: datetime) -> Response:
    fabric, container = req.param("fabricName"), req.param("protectionContainerName")
    job = actions.container_switch_protection(b, fabric, container, req.body, now)
    region = b.region_of_container(fabric, container) or ""
    return accepted(b, req, job, b.container_id(region))


# --- recovery plans ----------------------------------------------------------------------------------------
def plans_list(b: Backend, req: Request, now: datetime) -> Response:
    plans = sorted(b.plans.values(), key=lambda p: p.name.lower())
    return page(b, req, [vault_shapes.plan_json(b, p, now, members=False) for p in plans])


def plans_get(b: Backend, req: Request, now: datetime) -> Response:
    return ok(vault_shapes.plan_json(b, b.plan(req.param("recoveryPlanName")), now))


def _plan_action(fn: Callable[[Backend, Any, Any, datetime], Job]) -> Handler:
    def handler(b: Backend, req: Request, now: datetime) -> Response:
        plan = b.plan(req.param("recoveryPlanName"))
        return accepted(b, req, fn(b, plan, req.body, now), b.plan_id(plan))

    return handler


def plans_failover_commit(b: Backend, req: Request, now: datetime) -> Response:
    plan = b.plan(req.param("recoveryPlanName"))
    return accepted(b, req, plan_actions.plan_failover_commit(b, plan, now), b.plan_id(plan))


def plans_not_a2a(operation: str, reason: str) -> Handler:
    def handler(b: Backend, req: Request, now: datetime) -> Response:
        plan = b.plan(req.param("recoveryPlanName"))
        raise OperationNotAllowed(operation, plan.name, plan_actions.plan_allowed(b, plan), reason=reason)

    return handler


# --- jobs, health, events, LRO ---------------------------------------------------------------------------
# Only JobQueryParameter's fields (startTime and endTime are bounds, below); scenarioName, targetObjectName
# and friends are not in the spec and are ignored. What jobName matches is not documented: the scenario here.
JOB_FILTERS: dict[str, Callable[[Job, datetime], str]] = {
    "jobstatus": lambda j, now: j.state(now)[0],
    "jobname": lambda j, now: j.scenario,
    "affectedobjecttypes": lambda j, now: j.target_instance_type,
}


def jobs_list(b: Backend, req: Request, now: datetime) -> Response:
    jobs = sorted(b.jobs.values(), key=lambda j: j.start, reverse=True)
    for field_name, value in parse_filter(req.query.get("$filter")).items():
        if field_name == "starttime":
            jobs = [j for j in jobs if j.start >= parse_iso(value)]
        elif field_name == "endtime":
            jobs = [j for j in jobs if j.start <= parse_iso(value)]
        elif field_name in JOB_FILTERS:
            jobs = [j for j in jobs if JOB_FILTERS[field_name](j, now).lower() == value.lower()]
    return page(b, req, jobs, lambda j: vault_shapes.job_json(b, j, now))


def jobs_get(b: Backend, req: Request, now: datetime) -> Response:
    return ok(vault_shapes.job_json(b, b.job(req.param("jobName")), now))


def jobs_cancel(b: Backend, req: Request, now: datetime) -> Response:
    """An LRO like every action: 202 + ``Location``/``Azure-AsyncOperation`` naming the cancelled job."""
    job = actions.cancel_job(b, b.job(req.param("jobName")), now)
    operation = b.new_guid()
    b.cancel_ops[operation.lower()] = job.name
    return accepted(b, req, job, b.job_id(job.name), operation)


def jobs_not_supported(operation: str) -> Handler:
    def handler(b: Backend, req: Request, now: datetime) -> Response:
        job = b.job(req.param("jobName"))
        raise OperationNotAllowed(
            operation, f"job {job.name}", vault_shapes.job_json(b, job, now)["properties"]["allowedActions"]
        )

    return handler


def health_get(b: Backend, req: Request, now: datetime) -> Response:
    return ok(vault_shapes.health_json(b))


def health_refresh(b: Backend, req: Request, now: datetime) -> Response:
    return accepted(b, req, actions.refresh_vault_health(b, now), f"{b.vault_id}/replicationVaultHealth/default")


EVENT_FILTERS: dict[str, Callable[[Any], str]] = {
    "eventtype": lambda e: e.event_type,
    "severity": lambda e: e.severity,
    "affectedobjectfriendlyname": lambda e: e.affected_name,
    "affectedobjectcorrelationid": lambda e: e.correlation_id or "",
    "fabricname": lambda e: f"asr-a2a-default-{e.fabric_region}",
}


def events_list(b: Backend, req: Request, now: datetime) -> Response:
    events = sorted(b.events, key=lambda e: e.time, reverse=True)
    for field_name, value in parse_filter(req.query.get("$filter")).items():
        if field_name == "starttime":
            events = [e for e in events if e.time >= parse_iso(value)]
        elif field_name == "endtime":
            events = [e for e in events if e.time <= parse_iso(value)]
        elif field_name in EVENT_FILTERS:
            events = [e for e in events if EVENT_FILTERS[field_name](e).lower() == value.lower()]
    return page(b, req, [vault_shapes.event_json(b, e) for e in events])


def events_get(b: Backend, req: Request, now: datetime) -> Response:
    name = req.param("eventName")
    for event in b.events:
        if event.name.lower() == name.lower():
            return ok(vault_shapes.event_json(b, event))
    raise NotFound(f"The event '{name}' was not found.")


def opstatus_get(b: Backend, req: Request, now: datetime) -> Response:
    cancelled = b.cancel_ops.get(req.param("jobName").lower())
    if cancelled is not None:  # a job cancel: done (Succeeded) as soon as the job is Cancelled, i.e. at once
        return Response(200, vault_shapes.cancel_status_json(req.param("jobName"), b.job(cancelled)), {})
    job = b.job(req.param("jobName"))
    # The recorded status responses carry no Retry-After: pollers fall back to their own interval.
    return Response(200, vault_shapes.op_status_json(job, now), {})


def operation_result(b: Backend, req: Request, now: datetime) -> Response:
    job = b.job(req.param("jobName"))
    if not job.finished(now):
        return Response(202, None, {"Location": f"{req.endpoint}{req.path}?api-version={req.api_version}"})
    kind, ref = job.result_kind, job.result_ref
    if kind == "items.get":
        return ok(shapes.item_json(b, b.items[ref[0]], now))
    if kind == "containers.get":
        return ok(shapes.container_json(b, ref[0]))
    if kind == "plans.get":
        return ok(vault_shapes.plan_json(b, b.plans[ref[0]], now))
    if kind == "health.default":
        return ok(vault_shapes.health_json(b))
    return ok(vault_shapes.job_json(b, job, now))


def resources_get(b: Backend, req: Request, now: datetime) -> Response:
    found = arm_resources.find(b, req.path)
    if found is None:
        kind = f"{req.param('resourceProviderNamespace')}/{req.param('resourceType')}/{req.param('resourceName')}"
        raise NotFound(
            f"The Resource '{kind}' under resource group '{req.param('resourceGroupName')}' was not found. "
            "For more details please go to https://aka.ms/ARMResourceNotFoundFix"
        )
    return ok(found)


def usages_list(b: Backend, req: Request, now: datetime) -> Response:
    return ok({"value": compute.usages_json(b, req.param("location"))})


HANDLERS: dict[str, Handler] = {
    "items.list": items_list,
    "items.list_by_container": items_list_by_container,
    "items.get": items_get,
    "items.unplanned_failover": _item_action(actions.unplanned_failover),
    "items.planned_failover": items_not_a2a("PlannedFailover"),
    "items.test_failover": _item_action(actions.test_failover),
    "items.test_failover_cleanup": _item_action(actions.test_failover_cleanup),
    "items.failover_commit": items_failover_commit,
    "items.failover_cancel": items_not_a2a("CancelFailover"),
    "items.reprotect": _item_action(actions.item_reprotect),
    "points.list": points_list,
    "points.get": points_get,
    "fabrics.list": fabrics_list,
    "fabrics.get": fabrics_get,
    "containers.list": containers_list,
    "containers.list_by_fabric": containers_list_by_fabric,
    "containers.get": containers_get,
    "containers.switch_protection": containers_switch_protection,
    "plans.list": plans_list,
    "plans.get": plans_get,
    "plans.unplanned_failover": _plan_action(plan_actions.plan_unplanned_failover),
    "plans.planned_failover": plans_not_a2a("PlannedFailover", "Azure-to-Azure plans support unplanned failover only."),
    "plans.test_failover": _plan_action(plan_actions.plan_test_failover),
    "plans.test_failover_cleanup": _plan_action(plan_actions.plan_test_failover_cleanup),
    "plans.failover_commit": plans_failover_commit,
    "plans.failover_cancel": plans_not_a2a("CancelFailover", "Azure-to-Azure plans cannot cancel a failover."),
    "plans.reprotect": plans_not_a2a(
        "ReverseReplicate", "This api is for deprecated scenarios and no longer works; reprotect each item."
    ),
    "jobs.list": jobs_list,
    "jobs.get": jobs_get,
    "jobs.cancel": jobs_cancel,
    "jobs.restart": jobs_not_supported("Restart"),
    "jobs.resume": jobs_not_supported("Resume"),
    "health.get": health_get,
    "health.refresh": health_refresh,
    "events.list": events_list,
    "events.get": events_get,
    "opstatus.get": opstatus_get,
    "resources.get": resources_get,
    "usages.list": usages_list,
}


def dispatch(b: Backend, req: Request, now: datetime) -> Response:
    if req.route.name == "opresult:jobs.get":  # a job cancel's result is the cancelled job
        operation = req.param("jobName")
        return ok(vault_shapes.job_json(b, b.job(b.cancel_ops.get(operation.lower(), operation)), now))
    if req.route.name.startswith("opresult:"):
        return operation_result(b, req, now)
    return HANDLERS[req.route.name](b, req, now)
