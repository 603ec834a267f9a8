"""GET /api/health (anonymous: liveness, names of missing settings) and GET /api/openapi.json."""

from __future__ import annotations

import json

import azure.functions as func

from functions import http_common
from lib.api.meta import health, openapi
from lib.settings import Settings

bp = func.Blueprint()


@bp.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def http_health(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(health(Settings.from_env())), mimetype="application/json")


@bp.route(route="openapi.json", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def http_openapi(req: func.HttpRequest) -> func.HttpResponse:
    mode = http_common.current_app().settings.auth_mode
    return http_common.to_func(openapi(mode, http_common.to_api(req)))
