"""HTTP triggers for DR runs: start failover/failback/drills, list and show runs, and steer them (approve,
cancel, resume, commit, retry, rollback, continue).

Thin on purpose: each one names its operation; ``lib.api`` parses, authorizes, acts and maps errors.
"""

from __future__ import annotations

import azure.functions as func

from functions.http_common import call

bp = func.Blueprint()
KEY = func.AuthLevel.FUNCTION


@bp.route(route="failover", methods=["POST"], auth_level=KEY)
def http_failover(req: func.HttpRequest) -> func.HttpResponse:
    return call("startFailover", req)


@bp.route(route="failback", methods=["POST"], auth_level=KEY)
def http_failback(req: func.HttpRequest) -> func.HttpResponse:
    return call("startFailback", req)


@bp.route(route="drills", methods=["POST"], auth_level=KEY)
def http_drills(req: func.HttpRequest) -> func.HttpResponse:
    return call("startDrill", req)


@bp.route(route="runs", methods=["GET"], auth_level=KEY)
def http_list_runs(req: func.HttpRequest) -> func.HttpResponse:
    return call("listRuns", req)


@bp.route(route="runs/{id}", methods=["GET"], auth_level=KEY)
def http_get_run(req: func.HttpRequest) -> func.HttpResponse:
    return call("getRun", req)


@bp.route(route="runs/{id}/history", methods=["GET"], auth_level=KEY)
def http_run_history(req: func.HttpRequest) -> func.HttpResponse:
    return call("getRunHistory", req)


@bp.route(route="runs/{id}/report", methods=["GET"], auth_level=KEY)
def http_run_report(req: func.HttpRequest) -> func.HttpResponse:
    return call("getRunReport", req)


@bp.route(route="runs/{id}/approve", methods=["POST"], auth_level=KEY)
def http_approve(req: func.HttpRequest) -> func.HttpResponse:
    return call("approveRun", req)


@bp.route(route="runs/{id}/cancel", methods=["POST"], auth_level=KEY)
def http_cancel(req: func.HttpRequest) -> func.HttpResponse:
    return call("cancelRun", req)


@bp.route(route="runs/{id}/resume", methods=["POST"], auth_level=KEY)
def http_resume(req: func.HttpRequest) -> func.HttpResponse:
    return call("resumeRun", req)


@bp.route(route="runs/{id}/commit", methods=["POST"], auth_level=KEY)
def http_commit(req: func.HttpRequest) -> func.HttpResponse:
    return call("commitRun", req)


@bp.route(route="runs/{id}/retry", methods=["POST"], auth_level=KEY)
def http_retry(req: func.HttpRequest) -> func.HttpResponse:
    return call("retryRun", req)


@bp.route(route="runs/{id}/rollback", methods=["POST"], auth_level=KEY)
def http_rollback(req: func.HttpRequest) -> func.HttpResponse:
    return call("rollbackRun", req)


@bp.route(route="runs/{id}/continue", methods=["POST"], auth_level=KEY)
def http_continue(req: func.HttpRequest) -> func.HttpResponse:
    return call("continueRun", req)
