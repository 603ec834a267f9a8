"""The OpenAPI document and the routes the app registers cannot drift apart."""

from __future__ import annotations

from typing import Any

import azure.functions as func
import jsonschema

from lib.api.dispatch import OPERATIONS
from lib.api.openapi import document
from tests.app_functions import http_routes

DOC = document()


def _registered() -> dict[tuple[str, str], Any]:
    """Read from the FunctionApp itself, as the host indexes it."""
    return {(method.lower(), "/" + route): level for (method, route), (level, _fn) in http_routes().items()}


def test_every_registered_route_is_documented_and_nothing_else() -> None:
    documented = {(m, path) for path, ops in DOC["paths"].items() for m in ops}
    assert set(_registered()) == documented


def test_auth_levels_match_the_document_security() -> None:
    for (method, path), level in _registered().items():
        anonymous = DOC["paths"][path][method].get("security") == []
        assert (level == func.AuthLevel.ANONYMOUS) is anonymous, path


def test_operation_ids_are_the_api_operations() -> None:
    ids = {op["operationId"] for ops in DOC["paths"].values() for op in ops.values()}
    assert set(OPERATIONS) <= ids and ids - set(OPERATIONS) == {"getOpenApi", "getHealth"}


def test_the_document_is_valid_openapi_3_1_json_schema_wise() -> None:
    assert DOC["openapi"].startswith("3.1")
    for name, schema in DOC["components"]["schemas"].items():
        jsonschema.Draft202012Validator.check_schema(schema), name
    for path, ops in DOC["paths"].items():
        for op in ops.values():
            assert op["responses"], path
            for ref in _refs(op):
                assert ref.split("/")[-1] in DOC["components"]["schemas"], (path, ref)


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return ([node["$ref"]] if "$ref" in node else []) + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []
