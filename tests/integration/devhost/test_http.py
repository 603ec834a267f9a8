"""HTTP triggers through the devhost: routes with parameters, methods, each auth level, the real request/response."""

from __future__ import annotations

import json
import urllib.request

import pytest

from tests.integration.devhost.conftest import SampleHost

pytestmark = pytest.mark.integration


def test_ready_line_gives_the_url_and_the_keys(sample: SampleHost) -> None:
    host = sample.host
    assert host.url.startswith("http://127.0.0.1:") and int(host.url.rsplit(":", 1)[1]) > 0
    assert host.function_key == "fixed-fn-key"  # DEVHOST_FUNCTION_KEY
    assert len(host.master_key) >= 32 and host.master_key != host.function_key  # generated at start
    assert "sample app imported" in host.log()  # what the app prints goes to stderr, after the ready line


def test_anonymous_route_with_a_typed_parameter(sample: SampleHost) -> None:
    status, headers, body = sample.host.request("GET", "/api/items/42?x=1&y=two")
    assert status == 200, body
    document = json.loads(body)
    assert document["id"] == "42" and document["params"] == {"x": "1", "y": "two"}
    assert document["url"] == sample.host.url + "/api/items/42?x=1&y=two"
    assert headers["Content-Type"].startswith("application/json")


def test_a_parameter_that_breaks_its_constraint_or_an_undeclared_method_finds_no_function(sample: SampleHost) -> None:
    assert sample.host.request("GET", "/api/items/abc")[0] == 404
    assert sample.host.request("POST", "/api/items/1", {})[0] == 404
    assert sample.host.request("GET", "/api/nothing-here")[0] == 404
    assert sample.host.request("GET", "/elsewhere/items/1")[0] == 404  # outside the route prefix


@pytest.mark.parametrize("via", ["header", "query"])
def test_function_level_route_accepts_the_function_key(sample: SampleHost, via: str) -> None:
    key = sample.host.function_key
    path = "/api/echo/alpha/beta?q=1" + (f"&code={key}" if via == "query" else "")
    status, headers, body = sample.host.request(
        "PUT", path, b"raw body", key=key if via == "header" else None, headers={"X-Sample": "hello"}
    )
    assert status == 201, body
    assert headers["X-Echo"] == "alpha"
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    document = json.loads(body)
    assert document["method"] == "PUT" and document["route"] == {"name": "alpha", "extra": "beta"}
    assert document["header"] == "hello" and document["body"] == "raw body"
    assert document["params"]["q"] == "1"


def test_function_level_route_accepts_the_master_key_and_an_optional_parameter(sample: SampleHost) -> None:
    status, _, body = sample.host.request("POST", "/api/echo/alpha", b"", key=sample.host.master_key)
    assert status == 201 and json.loads(body)["route"] == {"name": "alpha"}


@pytest.mark.parametrize("key", [None, "", "wrong-key"])
def test_function_level_route_refuses_a_missing_or_wrong_key(sample: SampleHost, key: str | None) -> None:
    status, _, body = sample.host.request("POST", "/api/echo/alpha", b"x", key=key)
    assert status == 401, body


def test_admin_route_needs_the_master_key(sample: SampleHost) -> None:
    host = sample.host
    assert host.request("GET", "/api/admin-only")[0] == 401
    assert host.request("GET", "/api/admin-only", key=host.function_key)[0] == 401
    status, _, body = host.request("GET", f"/api/admin-only?code={host.master_key}")
    assert (status, body) == (200, b"admin ok")


def test_a_function_that_raises_gives_500_naming_the_invocation_never_the_traceback(sample: SampleHost) -> None:
    status, headers, body = sample.host.request("GET", "/api/boom")
    assert status == 500
    invocation_id = json.loads(body)["error"]["invocationId"]
    assert headers["x-devhost-invocation-id"] == invocation_id
    assert b"secret internal detail" not in body and b"Traceback" not in body
    assert sample.host.log_with(invocation_id, "secret internal detail")  # the host log has the details
    assert sample.host.request("GET", "/api/items/1")[0] == 200  # and the host still serves


def test_settings_come_from_the_environment_first_then_local_settings_json(sample: SampleHost) -> None:
    status, _, body = sample.host.request("GET", "/api/settings")
    assert status == 200
    assert json.loads(body) == {
        "SAMPLE_PRECEDENCE": "from-env",
        "SAMPLE_FROM_FILE": "file-only",
        "SAMPLE_FROM_ENV": "env-only",
    }


def test_concurrent_requests_are_served_in_parallel(sample: SampleHost) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def call(i: int) -> int:
        with urllib.request.urlopen(f"{sample.host.url}/api/items/{i}", timeout=30) as response:
            return int(json.loads(response.read())["id"])

    with ThreadPoolExecutor(8) as pool:
        assert sorted(pool.map(call, range(24))) == list(range(24))
