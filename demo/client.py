"""The app's HTTP API as the demo calls it: JSON in and out, a clear error on an answer it did not expect."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from devhost.launcher import DevhostInfo

__all__ = ["Api", "DemoError"]


class DemoError(RuntimeError):
    """A step of the demo did not happen as expected; the message says which and what was seen."""


@dataclass(frozen=True)
class Api:
    host: DevhostInfo

    def call(self, method: str, path: str, body: Any = None, *, expect: tuple[int, ...] = (200,), **query: Any) -> Any:
        params = {k: v for k, v in query.items() if v is not None}
        url = path + ("?" + urlencode(params) if params else "")
        status, _headers, raw = self.host.request(method, url, body, key=self.host.function_key)
        if status not in expect:
            raise DemoError(f"{method} {path} answered {status}: {raw.decode(errors='replace')[:400]}")
        return json.loads(raw) if raw else None

    def run(self, run_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.call("GET", f"/api/runs/{run_id}")
        return result

    def runs(self, kind: str | None = None) -> list[dict[str, Any]]:
        result = self.call("GET", "/api/runs", kind=kind, limit=100)
        rows = result.get("runs", result) if isinstance(result, dict) else result
        return list(rows)

    def decisions(self, region: str) -> list[dict[str, Any]]:
        result = self.call("GET", "/api/decisions", region=region)
        rows = result.get("decisions", result) if isinstance(result, dict) else result
        return list(rows)

    def run_timer(self, name: str) -> Any:
        status, _headers, raw = self.host.request(
            "POST", f"/admin/functions/{name}", {"input": ""}, key=self.host.master_key
        )
        if status not in (200, 202):
            raise DemoError(f"the host did not run timer {name}: {status} {raw.decode(errors='replace')[:300]}")
        return json.loads(raw) if raw else None
