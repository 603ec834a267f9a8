"""GET /api/health (liveness plus the names, never the values, of settings the app still needs) and
GET /api/openapi.json (the document, for any caller who may read)."""

from __future__ import annotations

from typing import Any

from lib.api.auth import Access, authorize
from lib.api.errors import ApiError, error_response
from lib.api.http import ApiRequest, ApiResponse, json_response
from lib.api.openapi import document
from lib.settings import Settings

__all__ = ["health", "openapi"]


def health(settings: Settings) -> dict[str, Any]:
    missing = settings.missing()
    problems = []
    if settings.auth_mode not in ("keys", "easyauth"):
        problems.append("AUTH_MODE")
    return {
        "status": "ok" if not missing and not problems else "degraded",
        "missingSettings": missing,
        "invalidSettings": problems,
        "authMode": settings.auth_mode if not problems else None,
    }


def openapi(mode: str, req: ApiRequest) -> ApiResponse:
    try:
        authorize(mode, req, Access.READ)
    except ApiError as err:
        return error_response(err)
    return json_response(200, document())
