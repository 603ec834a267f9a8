"""Refuse a start synchronously, before any run exists: unknown plan or VM (404), VMs held by a run (409).

Only reads: ASR's item list (and the plan), the item locks, the pending runs. The run's own preflight still
checks everything again when it runs; this is what lets a caller hear "no" in the answer to its request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from lib.api.errors import ApiError
from lib.bootstrap import App
from lib.domain.dr import DrRequest, parse_request, request_from_json
from lib.domain.errors import ResourceNotFound
from lib.domain.runs import RunStatus
from lib.engine import RunNotFound, RunView, StartResult
from lib.ports.site_recovery import by_vm_name

__all__ = ["check_target", "start_checked"]


def _plan_vms(app: App, plan: str, vm_by_item: dict[str, str]) -> list[str]:
    try:
        found = app.deps.asr.get_recovery_plan(plan)
    except ResourceNotFound:
        raise ApiError(404, "PlanNotFound", f"recovery plan {plan!r} does not exist in the vault",
                       "target.recoveryPlan") from None  # fmt: skip
    return [vm_by_item[n.lower()] for n in found.item_names if n.lower() in vm_by_item]


def target_vms(app: App, request: DrRequest) -> list[str]:
    items = app.deps.asr.list_protected_items()
    if request.plan:
        return _plan_vms(app, request.plan, {i.name.lower(): i.vm_name for i in items})
    named = by_vm_name(items)
    unknown = [vm for vm in request.vms if vm.lower() not in named]
    if unknown:
        field = "target.groups" if len(request.groups) > 1 else "target.vms"
        raise ApiError(404, "VmNotFound", f"not protected items of the vault: {', '.join(unknown)}", field)
    return [named[vm.lower()].vm_name for vm in request.vms]


def _pending_overlap(app: App, request: DrRequest, vms: set[str], key: str | None) -> RunView | None:
    """A run created but not yet past preflight holds no locks yet; compare its target with ours."""
    for summary in app.engine.list_runs(RunStatus.PENDING, 100).items:
        try:
            view = app.engine.get(summary.run_id)
        except RunNotFound:  # its index row is written just before the run itself
            continue
        if key and view.run.idempotency_key == key:
            continue
        other = request_from_json(view.run.input)
        if (request.plan and other.plan == request.plan) or vms & _vms_of(app, other):
            return view
    return None


def _vms_of(app: App, other: DrRequest) -> set[str]:
    """The VMs another run will lock: a plan run names no VMs in its input, so read the plan's members."""
    if not other.plan:
        return {vm.lower() for vm in other.vms}
    try:
        return {vm.lower() for vm in target_vms(app, other)}
    except ApiError:  # its plan is gone: that run will fail its preflight and lock nothing
        return set()


def check_target(app: App, request: DrRequest, key: str | None) -> str | None:
    """Raise 404/409 when the request cannot start; return the run id the idempotency key already started."""
    vms = {vm.lower() for vm in target_vms(app, request)}
    held = app.locks.holders(sorted(vms))
    for vm, holder in sorted(held.items()):
        loaded = app.engine.runtime.store.load(holder)
        if key and loaded is not None and loaded.run.idempotency_key == key:
            if loaded.run.workflow != request.kind:
                raise ApiError(409, "IdempotencyKeyReused", f"idempotency key {key!r} belongs to run {holder} of "
                               f"{loaded.run.workflow!r}, not {request.kind!r}", "Idempotency-Key")  # fmt: skip
            return holder
        raise ApiError(409, "TargetBusy", f"run {holder} is working on {vm}; wait for it or cancel it", "target")
    busy = _pending_overlap(app, request, vms, key)
    if busy is not None:
        raise ApiError(409, "TargetBusy", f"run {busy.run.run_id} is about to work on the same VMs", "target")
    return None


def start_checked(
    app: App, kind: str, body: object, key: str | None, *, actor: str, actor_id: str = "", label: str = ""
) -> StartResult:
    """Parse the body, refuse what cannot start (400/404/409 as ``ApiError``/``ValidationError``), start the run.

    HTTP and ``drctl`` both start runs through here. ``label`` is how history names the caller.
    """
    request = parse_request(kind, body, actor=actor, actor_id=actor_id)
    app.ensure_storage()
    existing = check_target(app, request, key)
    if existing is not None:
        result = StartResult(existing, False, app.engine.get(existing).run)
    else:
        result = app.engine.start(kind, request.to_json(), key, actor=label or actor)
    if not result.created:
        _same_request_or_409(request, result.run.input, key, result.run_id)
    return result


def _same_request_or_409(request: DrRequest, stored: Mapping[str, Any], key: str | None, run_id: str) -> None:
    """A retried start must ask for what the key first asked for; another body under that key is refused."""
    asked = replace(
        request_from_json(stored), requested_by=request.requested_by, requested_by_id=request.requested_by_id
    )
    if asked != request:
        raise ApiError(409, "IdempotencyKeyReused", f"idempotency key {key!r} already started run {run_id} with a "
                       "different request; use a new key for a new request", "Idempotency-Key")  # fmt: skip
