"""Reading a JSON body: size (413), content type (415), syntax and shape (400), in that order."""

from __future__ import annotations

import json
from typing import Any

from lib.api.errors import ApiError
from lib.api.http import ApiRequest

__all__ = ["MAX_BODY", "json_body", "optional_object"]

MAX_BODY = 64 * 1024


def _check_content_type(req: ApiRequest) -> None:
    raw = req.header("content-type") or ""
    media = raw.split(";", 1)[0].strip().lower()
    if media != "application/json" and not (media.startswith("application/") and media.endswith("+json")):
        shown = media or "none"
        raise ApiError(415, "UnsupportedMediaType", f"send the body as application/json (got {shown})", "Content-Type")


def json_body(req: ApiRequest) -> Any:
    """The decoded JSON value of the body (any JSON type: the parser names what is wrong with it)."""
    if len(req.body) > MAX_BODY:
        raise ApiError(413, "PayloadTooLarge", f"the body is {len(req.body)} bytes; the limit is {MAX_BODY}", "body")
    _check_content_type(req)
    try:
        return json.loads(req.body.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ApiError(400, "BadRequest", f"the body is not UTF-8: {exc.reason}", "body") from None
    except RecursionError:
        raise ApiError(400, "BadRequest", "the body nests JSON too deeply", "body") from None
    except json.JSONDecodeError as exc:
        raise ApiError(400, "BadRequest", f"the body is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
                       "body") from None  # fmt: skip


def optional_object(req: ApiRequest, allowed: tuple[str, ...]) -> dict[str, str]:
    """An optional body of text fields (approve/cancel/resume): empty is fine, anything else is checked."""
    if not req.body.strip():
        return {}
    value = json_body(req)
    if not isinstance(value, dict):
        raise ApiError(400, "BadRequest", f"must be a JSON object, got {type(value).__name__}", "body")
    out: dict[str, str] = {}
    for name, text in value.items():
        if name not in allowed:
            raise ApiError(400, "BadRequest", f"unknown field; this body takes {', '.join(allowed)}", name)
        if text is None:
            continue
        if not isinstance(text, str) or len(text) > 1000:
            raise ApiError(400, "BadRequest", "must be text of at most 1000 characters", name)
        out[name] = text
    return out
