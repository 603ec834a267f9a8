"""GET /api/status: liveness plus the settings the app runs with (names only, never values)."""

from __future__ import annotations

import json

import azure.functions as func

from lib.settings import Settings

bp = func.Blueprint()


@bp.route(route="status", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def status(req: func.HttpRequest) -> func.HttpResponse:
    settings = Settings.from_env()
    body = {"status": "ok", "vault": settings.asr_vault_name or None, "missing": settings.missing()}
    return func.HttpResponse(json.dumps(body), mimetype="application/json", status_code=200)
