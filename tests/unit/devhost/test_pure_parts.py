"""Pure parts of the devhost: route templates, NCRONTAB, keys, host.json, settings precedence, Event Grid parsing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from devhost.eventgrid import EventGridError, options_reply, parse_delivery
from devhost.hostjson import HostJsonError, QueueOptions, parse_timespan, read_host_json
from devhost.keys import Keys, Level, presented_key
from devhost.ncrontab import next_fire, parse_schedule, resolve_schedule
from devhost.queue_host import Backoff, BadMessage, decode_body
from devhost.routes import RouteError, compile_route
from devhost.settings import SettingsError, apply_settings, read_local_settings


@pytest.mark.parametrize(
    ("template", "path", "expected"),
    [
        ("runs", "runs", {}),
        ("runs", "RUNS/", {}),
        ("runs/{id}", "runs/r-1", {"id": "r-1"}),
        ("runs/{id}", "runs", None),
        ("runs/{id}", "runs/a/b", None),
        ("runs/{id}/approve", "runs/r1/approve", {"id": "r1"}),
        ("runs/{id}/approve", "runs/r1/cancel", None),
        ("items/{n:int}", "items/-12", {"n": "-12"}),
        ("items/{n:int}", "items/x1", None),
        ("items/{flag:bool}", "items/True", {"flag": "True"}),
        ("items/{g:guid}", "items/12345678-1234-1234-1234-123456789abc", {"g": "12345678-1234-1234-1234-123456789abc"}),
        ("items/{g:guid}", "items/1234", None),
        ("items/{word:alpha}", "items/abc", {"word": "abc"}),
        ("runs/{id}/{op?}", "runs/r1", {"id": "r1"}),
        ("runs/{id}/{op?}", "runs/r1/go", {"id": "r1", "op": "go"}),
        ("files/{*rest}", "files", {}),
        ("files/{*rest}", "files/a/b%20c", {"rest": "a/b c"}),
    ],
)
def test_route_matching(template: str, path: str, expected: dict[str, str] | None) -> None:
    assert compile_route(template).match(path) == expected


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        ("items/{n:integer}", "unknown constraint"),
        ("a/{x}/{x}", "appears twice"),
        ("a/pre{x}", "mixes text"),
        ("{*rest}/more", "must be the last"),
    ],
)
def test_bad_route_templates_name_the_problem(template: str, reason: str) -> None:
    with pytest.raises(RouteError, match=reason):
        compile_route(template)


def test_ncrontab_has_seconds_first() -> None:
    at = datetime(2026, 1, 1, 0, 1, 59, tzinfo=UTC)
    assert next_fire("0 */2 * * * *", at) == datetime(2026, 1, 1, 0, 2, 0, tzinfo=UTC)
    assert next_fire("*/5 * * * * *", at) == datetime(2026, 1, 1, 0, 2, 0, tzinfo=UTC)
    assert next_fire("30 0 9 * * 1-5", at) == datetime(2026, 1, 1, 9, 0, 30, tzinfo=UTC)  # Thursday
    assert next_fire("0 0 0 1 1 *", at) == datetime(2027, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(("schedule", "reason"), [("*/5 * * * *", "needs 6"), ("x * * * * *", "not a valid")])
def test_bad_schedules_say_why(schedule: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_schedule(schedule)


KEYS = Keys(function="fk", master="mk", eventgrid="ek")


def test_percent_schedules_are_app_settings_as_the_host_resolves_them() -> None:
    settings = {"DRILL_SCHEDULE": " 0 30 2 * * Sat "}
    assert resolve_schedule("%DRILL_SCHEDULE%", settings) == "0 30 2 * * Sat"
    assert resolve_schedule("0 */2 * * * *", settings) == "0 */2 * * * *"
    with pytest.raises(ValueError, match="MISSING is not set"):
        resolve_schedule("%MISSING%", settings)


@pytest.mark.parametrize(
    ("level", "presented", "allowed"),
    [
        (Level.ANONYMOUS, None, True),
        (Level.ANONYMOUS, "junk", True),
        (Level.FUNCTION, None, False),
        (Level.FUNCTION, "", False),
        (Level.FUNCTION, "fk", True),
        (Level.FUNCTION, "mk", True),
        (Level.FUNCTION, "ek", False),
        (Level.FUNCTION, "fk2", False),
        (Level.ADMIN, "fk", False),
        (Level.ADMIN, "mk", True),
    ],
)
def test_key_checks(level: Level, presented: str | None, allowed: bool) -> None:
    assert KEYS.allows(level, presented) is allowed


def test_eventgrid_takes_its_system_key_or_the_master_key_only() -> None:
    assert KEYS.allows_eventgrid("ek") and KEYS.allows_eventgrid("mk")
    assert not KEYS.allows_eventgrid("fk") and not KEYS.allows_eventgrid(None)


def test_presented_key_prefers_the_header_and_levels_parse() -> None:
    assert presented_key({"X-Functions-Key": "h"}, {"code": "q"}) == "h"
    assert presented_key({}, {"code": "q"}) == "q"
    assert presented_key({}, {}) is None
    assert Level.parse("ADMIN") is Level.ADMIN and Level.parse(None) is Level.FUNCTION
    with pytest.raises(ValueError, match="auth_level"):
        Level.parse("owner")


def test_keys_come_from_the_environment_or_are_generated() -> None:
    fixed = Keys.from_env({"DEVHOST_FUNCTION_KEY": "a", "DEVHOST_MASTER_KEY": "b"})
    assert (fixed.function, fixed.master) == ("a", "b") and len(fixed.eventgrid) >= 32
    one, two = Keys.from_env({}), Keys.from_env({})
    assert one.master not in (two.master, one.function)


def test_host_json_queue_settings(tmp_path: Path) -> None:
    path = tmp_path / "host.json"
    path.write_text(json.dumps({"extensions": {"queues": {
        "maxPollingInterval": "00:00:02", "visibilityTimeout": "00:00:10", "batchSize": 16, "maxDequeueCount": 5,
    }, "http": {"routePrefix": "/v1/"}}}))  # fmt: skip
    config = read_host_json(path)
    assert config.queues == QueueOptions(16, None, 2.0, 10.0, 5, "base64")
    assert config.queues.refill_below == 8 and config.route_prefix == "v1"
    assert read_host_json(tmp_path / "absent.json").queues == QueueOptions()


@pytest.mark.parametrize(
    ("queues", "field"),
    [
        ({"batchSize": 64}, "batchSize"),
        ({"maxDequeueCount": "5"}, "maxDequeueCount"),
        ({"visibilityTimeout": "10s"}, "visibilityTimeout"),
        ({"messageEncoding": "utf8"}, "messageEncoding"),
    ],
)
def test_bad_host_json_names_the_field(tmp_path: Path, queues: dict[str, object], field: str) -> None:
    path = tmp_path / "host.json"
    path.write_text(json.dumps({"extensions": {"queues": queues}}))
    with pytest.raises(HostJsonError, match=field):
        read_host_json(path)


def test_timespans() -> None:
    assert parse_timespan("00:00:00.500", "f") == 0.5
    assert parse_timespan("1.02:03:04", "f") == 93784
    with pytest.raises(HostJsonError, match="field"):
        parse_timespan("5", "field")


def test_environment_wins_over_local_settings(tmp_path: Path) -> None:
    path = tmp_path / "local.settings.json"
    path.write_text(json.dumps({"Values": {"A": "file", "B": "file", "N": 3}}))
    env = {"A": "env"}
    added = apply_settings(read_local_settings(path), env)
    assert env == {"A": "env", "B": "file", "N": "3"} and added == {"B": "file", "N": "3"}
    assert read_local_settings(tmp_path / "absent.json") == {}
    path.write_text("{")
    with pytest.raises(SettingsError, match="not valid JSON"):
        read_local_settings(path)


def test_backoff_doubles_up_to_the_maximum_and_resets() -> None:
    backoff = Backoff(maximum=1.0)
    assert [backoff.empty() for _ in range(6)] == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    backoff.found()
    assert backoff.empty() == 0.1


def test_message_bodies_decode_as_configured() -> None:
    assert decode_body("aGk=", "base64") == b"hi"
    assert decode_body("hi", "none") == b"hi"
    with pytest.raises(BadMessage, match="base64"):
        decode_body("not base64!", "base64")


def test_eventgrid_parsing() -> None:
    validation = [{"id": "1", "subject": "", "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
                   "data": {"validationCode": "abc"}}]  # fmt: skip
    assert parse_delivery({}, json.dumps(validation).encode()).validation_code == "abc"
    single = {"specversion": "1.0", "id": "c", "source": "s", "type": "t"}
    assert parse_delivery({}, json.dumps(single).encode()).events == (single,)
    assert parse_delivery({"aeg-event-type": "SubscriptionDeletion"}, json.dumps([single]).encode()).kind == "deletion"
    for bad, reason in [(b"[]", "empty"), (b"3", "array"), (b'[{"id": "x"}]', "lacks eventType")]:
        with pytest.raises(EventGridError, match=reason):
            parse_delivery({}, bad)
    assert options_reply({"WebHook-Request-Origin": "eventgrid.azure.net"}) == {
        "WebHook-Allowed-Origin": "eventgrid.azure.net", "WebHook-Allowed-Rate": "*", "Allow": "POST, OPTIONS",
    }  # fmt: skip
    assert options_reply({}) is None


def test_app_env_round_trips_through_settings() -> None:
    from devhost.appenv import app_env
    from lib.settings import Settings

    settings = Settings(
        storage_connection="conn", asr_subscription_id="sub", asr_resource_group="rg", asr_vault_name="v",
        asr_arm_endpoint="https://127.0.0.1:1", asr_ca_bundle="/ca.pem", asr_cache_storage_accounts="a=b",
        work_queue="q", runs_table="r", run_index_table="i", locks_table="l", eventgrid_endpoint="https://eg",
        eventgrid_key="k", timer_scale=0.01,
    )  # fmt: skip
    assert Settings.from_env(app_env(settings)) == settings


def test_the_most_specific_route_wins_whatever_the_registration_order() -> None:
    from devhost.discovery import AppIndex, HttpFunction
    from devhost.http_host import match_function

    def fn(name: str, template: str, methods: frozenset[str] | None = None) -> HttpFunction:
        return HttpFunction(name, "req", print, compile_route(template), methods, Level.FUNCTION)

    index = AppIndex(
        http=(
            fn("any", "runs/{*rest}"),
            fn("by_id", "runs/{id}"),
            fn("by_number", "runs/{n:int}"),
            fn("latest", "runs/latest"),
            fn("post_only", "runs/{id}/go", frozenset({"POST"})),
        ),
        queues=(), timers=(), eventgrid=(), unsupported=(),
    )  # fmt: skip

    def pick(method: str, path: str) -> str | None:
        found = match_function(index, "api", method, path)
        return found[0].name if found else None

    assert pick("GET", "/api/runs/latest") == "latest"
    assert pick("GET", "/api/runs/12") == "by_number"
    assert pick("GET", "/api/runs/r1") == "by_id"
    assert pick("GET", "/api/runs/r1/go") == "any"  # the POST-only route does not take GET
    assert pick("POST", "/api/runs/r1/go") == "post_only"
    assert pick("GET", "/other/runs/r1") is None
