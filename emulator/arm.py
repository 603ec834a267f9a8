"""ARM plumbing shared by the handlers: request/response types, paging with nextLink, $filter, the LRO 202."""

from __future__ import annotations

import base64
import json
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from emulator.backend import Backend
from emulator.errors import BadRequest
from emulator.models import Job
from emulator.urls import RouteMatch


def retry_after(seconds: float) -> str:
    return str(int(seconds)) if seconds == int(seconds) else str(seconds)


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    route: RouteMatch
    endpoint: str

    @property
    def api_version(self) -> str:
        return self.query.get("api-version", "")

    def param(self, name: str) -> str:
        return self.route.params[name]


@dataclass
class Response:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Backend, Request, datetime], Response]


# --- helpers -------------------------------------------------------------------------------------------------
def ok(body: Any) -> Response:
    return Response(200, body)


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")


def _offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        padded = token + "=" * (-len(token) % 4)
        return int(json.loads(base64.urlsafe_b64decode(padded))["o"])
    except (ValueError, KeyError, TypeError) as exc:
        raise BadRequest("The skipToken is invalid.", inner_code="InvalidSkipToken") from exc


def page(b: Backend, req: Request, values: list[Any], shape: Callable[[Any], dict[str, Any]] | None = None) -> Response:
    """One page of ``values`` and an absolute ``nextLink`` (keeps ``$filter``, adds an opaque skipToken).
    ``shape`` turns only the page's values into JSON (thousands of preloaded jobs are not all rendered)."""
    start = _offset(req.query.get("skipToken") or req.query.get("$skipToken"))
    size = b.topology.page_size
    chunk = values[start : start + size]
    body: dict[str, Any] = {"value": [shape(v) for v in chunk] if shape else chunk}
    if start + size < len(values):
        query = {"api-version": req.api_version}
        if "$filter" in req.query:
            query["$filter"] = req.query["$filter"]
        query["skipToken"] = _token(start + size)
        body["nextLink"] = f"{req.endpoint}{req.path}?{urllib.parse.urlencode(query, quote_via=urllib.parse.quote)}"
    return ok(body)


def parse_filter(text: str | None) -> dict[str, str]:
    """``<field> eq '<value>'`` clauses joined by ``and``; field names lower-cased."""
    if not text:
        return {}
    clauses: dict[str, str] = {}
    for clause in _split_and(text):
        parts = clause.strip().split(None, 2)
        if len(parts) != 3 or parts[1].lower() not in ("eq", "ge", "le"):
            raise BadRequest(f"Unsupported $filter clause '{clause.strip()}'; use <field> eq '<value>'.")
        clauses[parts[0].lower()] = parts[2].strip().strip("'")
    return clauses


def _split_and(text: str) -> list[str]:
    out, current, quoted, i = [], "", False, 0
    while i < len(text):
        if text[i] == "'":
            quoted = not quoted
        if not quoted and text[i : i + 5].lower() == " and ":
            out.append(current)
            current, i = "", i + 5
            continue
        current += text[i]
        i += 1
    return [*out, current]


def accepted(b: Backend, req: Request, job: Job, resource_path: str, operation: str | None = None) -> Response:
    """202 + LRO headers the way ASR sends them (asr-api.md §4.1); their last segment is the job's name, or
    ``operation`` (an id of its own, for an operation on a job such as cancel)."""
    version = urllib.parse.quote(req.api_version)
    name = operation or job.name
    retry = b.topology.retry_after
    return Response(
        202,
        None,
        {
            "Location": f"{req.endpoint}{resource_path}/operationresults/{name}?api-version={version}",
            "Azure-AsyncOperation": (
                f"{req.endpoint}{b.vault_id}/replicationOperationStatus/{name}?api-version={version}"
            ),
            "x-ms-request-id": b.job_id(job.name),
        }
        # The recorded 202s carry Retry-After: 30 or none at all; 0 leaves it out.
        | ({"Retry-After": retry_after(retry)} if retry > 0 else {}),
    )
