"""Who may do what.

``AUTH_MODE=keys`` (local default): the Functions host checks the function key before our code runs, so every
caller that reaches a handler may do everything; runs record them as ``function-key``.

``AUTH_MODE=easyauth`` (production): App Service Authentication validates the Entra ID token in front of the app
and forwards the principal in ``X-MS-CLIENT-PRINCIPAL``: base64 JSON ``{"auth_typ", "claims": [{"typ", "val"}],
"name_typ", "role_typ"}``. External requests cannot set that header; App Service strips it. Mutating routes need
the app role ``DR.Operator``; reads need ``DR.Reader`` or ``DR.Operator``. The alert webhook (``POST /api/alerts``)
needs ``DR.AlertSender`` (the role given to the action group's secure-webhook identity) or ``DR.Operator``.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from lib.api.errors import ApiError
from lib.api.http import ApiRequest

__all__ = ["ALERT_SENDER", "OPERATOR", "READER", "Access", "Principal", "authenticate", "authorize", "require_role"]

OPERATOR = "DR.Operator"
READER = "DR.Reader"
ALERT_SENDER = "DR.AlertSender"
PRINCIPAL_HEADER = "x-ms-client-principal"
_ROLE_TYPES = {"roles", "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"}
_NAME_TYPES = ("name", "preferred_username", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name")
_OID_TYPES = ("http://schemas.microsoft.com/identity/claims/objectidentifier", "oid")


class Access(StrEnum):
    ANONYMOUS = "anonymous"
    READ = "read"
    OPERATE = "operate"
    SIGNAL = "signal"  # deliver region-health signals (the alert webhook)


@dataclass(frozen=True)
class Principal:
    name: str
    object_id: str = ""
    roles: frozenset[str] = frozenset()

    @property
    def label(self) -> str:
        """How runs and their history name the caller."""
        return f"{self.name} ({self.object_id})" if self.object_id else self.name


KEY_HOLDER = Principal("function-key", "", frozenset({OPERATOR}))
ANONYMOUS = Principal("anonymous")


def _decode(header: str) -> dict[str, Any]:
    try:
        data = json.loads(base64.b64decode(header.strip() + "==", validate=False))
    except (binascii.Error, ValueError) as exc:
        raise ApiError(401, "Unauthenticated", f"X-MS-CLIENT-PRINCIPAL is not base64 JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("claims"), list):
        raise ApiError(401, "Unauthenticated", "X-MS-CLIENT-PRINCIPAL has no claims list")
    return data


def _claims(data: dict[str, Any]) -> list[tuple[str, str]]:
    out = []
    for claim in data["claims"]:
        if isinstance(claim, dict) and isinstance(claim.get("typ"), str) and isinstance(claim.get("val"), str):
            out.append((claim["typ"], claim["val"]))
    return out


def principal_from_header(header: str) -> Principal:
    data = _decode(header)
    claims = _claims(data)
    role_types = _ROLE_TYPES | {str(data.get("role_typ") or "roles")}
    name_types = (str(data.get("name_typ") or "name"), *_NAME_TYPES)
    by_type: dict[str, str] = {}
    for typ, val in claims:
        by_type.setdefault(typ, val)
    name = next((by_type[t] for t in name_types if by_type.get(t)), "")
    oid = next((by_type[t] for t in _OID_TYPES if by_type.get(t)), "")
    roles = frozenset(val for typ, val in claims if typ in role_types)
    return Principal(name or oid or "unknown", oid, roles)


def authenticate(mode: str, req: ApiRequest, access: Access) -> Principal:
    """Who is calling, or ``ApiError`` 401 (no principal); roles are not checked yet."""
    if access is Access.ANONYMOUS:
        return ANONYMOUS
    if mode == "keys":
        return KEY_HOLDER
    if mode != "easyauth":
        raise ApiError(503, "Misconfigured", f"AUTH_MODE {mode!r} is not 'keys' or 'easyauth'")
    header = req.header(PRINCIPAL_HEADER)
    if not header:
        raise ApiError(401, "Unauthenticated", "no X-MS-CLIENT-PRINCIPAL: sign in through App Service Authentication")
    return principal_from_header(header)


def require_role(who: Principal, mode: str, access: Access) -> None:
    """``ApiError`` 403 when an easyauth caller lacks the app role ``access`` needs."""
    if access is Access.ANONYMOUS or mode != "easyauth":
        return
    allowed = {Access.OPERATE: {OPERATOR}, Access.SIGNAL: {OPERATOR, ALERT_SENDER}}.get(access, {OPERATOR, READER})
    if not who.roles & allowed:
        need = " or ".join(sorted(allowed))
        raise ApiError(403, "Forbidden", f"{who.name} needs the app role {need} for this operation")


def authorize(mode: str, req: ApiRequest, access: Access) -> Principal:
    """The caller, or ``ApiError`` 401 (no principal) / 403 (no suitable role)."""
    who = authenticate(mode, req, access)
    require_role(who, mode, access)
    return who
