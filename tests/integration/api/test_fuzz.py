"""Property-based fuzz of every route in the OpenAPI document, through the app's triggers on the real stack.

Bodies come from the document's own schemas (valid ones and near misses) and from arbitrary JSON and bytes;
query values and run ids from the document or arbitrary text. No answer may be a 5xx, every status must be one
the document lists for that operation, and every JSON answer must match the schema the document gives for it.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any
from urllib.parse import quote

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lib.api.openapi import document
from tests.integration.api.conftest import NETWORK, topology
from tests.integration.api.schema_strategies import JSON, STRING_HINTS, near_miss, valid

pytestmark = pytest.mark.integration

DOC = document()
COMPONENTS = DOC["components"]
OPERATIONS = [(path, method, op) for path, ops in DOC["paths"].items() for method, op in ops.items()]
# Examples per operation: more where a body is parsed (that is where client input can reach deep).
WITH_BODY, WITHOUT_BODY = 150, 40
VMS = [f"web-{i}" for i in range(1, 9)]
STRING_HINTS.update({
    "^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$": st.sampled_from([*VMS, "ghost"]),
    "\\S": st.just("app"),
    "/virtualNetworks/": st.just(NETWORK),
})  # fmt: skip


def _body(op: dict[str, Any]) -> st.SearchStrategy[tuple[bytes, str]]:
    schema = (op.get("requestBody") or {}).get("content", {}).get("application/json", {}).get("schema")
    values = JSON if schema is None else st.one_of(valid(schema, COMPONENTS), near_miss(schema, COMPONENTS), JSON)
    as_json = values.map(lambda v: (json.dumps(v).encode(), "application/json"))
    raw = st.tuples(st.binary(max_size=64), st.sampled_from(["application/json", "text/plain", ""]))
    if schema is None:
        return st.one_of(as_json, raw, st.just((b"", "")))
    valid_json = valid(schema, COMPONENTS).map(lambda v: (json.dumps(v).encode(), "application/json"))
    miss_json = near_miss(schema, COMPONENTS).map(lambda v: (json.dumps(v).encode(), "application/json"))
    return st.one_of(valid_json, valid_json, miss_json, miss_json, as_json, raw)


def _query(op: dict[str, Any]) -> st.SearchStrategy[dict[str, str]]:
    params = [p for p in op.get("parameters", []) if p["in"] == "query"]
    if not params:
        return st.just({})
    value = {p["name"]: st.one_of(valid(p["schema"], COMPONENTS).map(str), st.text(max_size=30)) for p in params}
    return st.fixed_dictionaries({}, optional=value)


def _settle(api: Any, run_id: str) -> None:
    if hasattr(api, "stack"):
        api.stack.finish(run_id)  # in process: drive the engine here
    else:
        api.wait(run_id)  # the devhost's queue trigger drives it


def _check(op: dict[str, Any], status: int, headers: dict[str, str], raw: bytes) -> None:
    assert status < 500, raw
    documented = op["responses"]
    assert str(status) in documented, f"{op['operationId']}: undocumented {status}: {raw[:300]!r}"
    schema = documented[str(status)].get("content", {}).get("application/json", {}).get("schema")
    if schema is not None:
        jsonschema.validate(json.loads(raw), {**schema, "components": COMPONENTS})
    if status == 202 and "Location" in documented["202"].get("headers", {}):
        assert headers["Location"].startswith("/api/runs/")


# In process (the triggers called with real HttpRequests: many examples, fast) and through the devhost over real
# HTTP (fewer examples: what the host itself adds — routing, keys, headers, URL encoding — meets the same checks).
STACKS = {"in-process": ("api_stack", 1), "devhost": ("http_stack", 5)}
# The in-process fuzz sends ~2,000 requests: it runs as three shards of the routes (each with one of the three start
# routes), so that parallel workers share it; every route still gets all its examples.
SHARDS = 3
CASES = [("in-process", i) for i in range(SHARDS)] + [("devhost", None)]


@pytest.mark.parametrize(("where", "shard"), CASES, ids=[f"{w}-{i}" if i is not None else w for w, i in CASES])
def test_fuzz_every_documented_route_finds_no_5xx_and_no_undocumented_answer(
    where: str, shard: int | None, request: pytest.FixtureRequest
) -> None:
    fixture, fewer = STACKS[where]
    operations = OPERATIONS if shard is None else OPERATIONS[shard::SHARDS]
    stack = request.getfixturevalue(fixture)
    seen: Counter[str] = Counter()
    plan = {"name": "app", "groups": [["web-7"], ["web-8"]]}
    with stack(topology(VMS, [plan])) as api:
        known = api.start("failover", {"target": {"vms": ["web-1"]}, "autoCommit": False}).json["runId"]
        _settle(api, known)  # one paused run, so that run routes also meet a real run

        run_ids = st.one_of(st.just(known), st.text(st.characters(blacklist_characters="/"), min_size=1,
                                                      max_size=40))  # fmt: skip

        # Over the wire a header is Latin-1 at most (http.client refuses more); in process, any text.
        keys = (
            st.text(max_size=8)
            if fewer == 1
            else st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=8)
        )

        def probe(path: str, method: str, op: dict[str, Any], data: st.DataObject) -> None:
            path = path.lstrip("/")
            if "{id}" in path:
                path = path.replace("{id}", quote(data.draw(run_ids), safe="", errors="surrogatepass"))
            body, content_type = data.draw(_body(op)) if method == "post" else (b"", "")
            headers = {"Content-Type": content_type} if content_type else {}
            if data.draw(st.booleans()):
                headers["Idempotency-Key"] = data.draw(keys)
            reply = api.call(method.upper(), path, raw=body, headers=headers, query=data.draw(_query(op)))
            seen[f"{op['operationId']} {reply.status}"] += 1
            _check(op, reply.status, reply.headers, reply.raw)

        def bind(path: str, method: str, op: dict[str, Any]) -> Any:
            def one_request(data: st.DataObject) -> None:
                probe(path, method, op, data)

            return one_request

        for path, method, op in operations:
            examples = (WITH_BODY if "requestBody" in op else WITHOUT_BODY) // fewer
            fuzz = settings(
                max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None
            )(given(st.data())(bind(path, method, op)))
            fuzz()
    print(f"\nfuzz: {sum(seen.values())} requests; {dict(sorted(seen.items()))}")
    assert sum(seen.values()) >= sum(
        (WITH_BODY if "requestBody" in op else WITHOUT_BODY) // fewer for _p, _m, op in operations
    )
    assert any(k.endswith(" 202") for k in seen) and any(k.endswith(" 400") for k in seen)
