"""GET /api/health (liveness plus the names, never the values, of settings the app still needs) and
GET /api/openapi.json (the document, for any caller who may read)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lib.api.auth import Access, authorize
from lib.api.errors import ApiError, error_response
from lib.api.http import ApiRequest, ApiResponse, json_response
from lib.api.openapi import document
from lib.guard import PolicyErrors, policy_from_env
from lib.settings import Settings

__all__ = ["health", "openapi"]


def health(settings: Settings) -> dict[str, Any]:
    missing = settings.missing()
    storage = settings.storage_problems()
    problems = [p.setting for p in storage if not p.missing]
    if settings.auth_mode not in ("keys", "easyauth"):
        problems.append("AUTH_MODE")
    policy = policy_from_env(settings.policy_env(), lambda path: Path(path).read_text(encoding="utf-8"))
    policy_errors = list(policy.lines) if isinstance(policy, PolicyErrors) else []
    if isinstance(policy, PolicyErrors):
        problems.append(policy.origin)
    return {
        "status": "ok" if not missing and not problems else "degraded",
        "missingSettings": missing,
        "invalidSettings": problems,
        # What keeps the app from its storage, in words: which setting, and which form would do.
        "settingProblems": [str(p) for p in storage],
        "authMode": settings.auth_mode if settings.auth_mode in ("keys", "easyauth") else None,
        # A bad policy keeps the app up and acting on nothing automatically: each bad field, with its path.
        "policyErrors": policy_errors,
    }


def openapi(mode: str, req: ApiRequest) -> ApiResponse:
    try:
        authorize(mode, req, Access.READ)
    except ApiError as err:
        return error_response(err)
    return json_response(200, document())
