"""Discovery reads the FunctionApp object: whatever is registered is what the host serves."""

from __future__ import annotations

import azure.functions as func
import pytest

from devhost.discovery import DiscoveryError, index_app
from devhost.keys import Level


def _app() -> func.FunctionApp:
    app = func.FunctionApp(http_auth_level=func.AuthLevel.ADMIN)

    @app.route(route="runs/{id}", methods=["GET", "post"], auth_level=func.AuthLevel.ANONYMOUS)
    def get_run(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse("x")

    @app.route()  # no route: the function's name; no level: the app's default
    def plain(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse("x")

    bp = func.Blueprint()  # type: ignore[no-untyped-call]  # azure-functions leaves Blueprint() unannotated

    @bp.queue_trigger(arg_name="m", queue_name="work", connection="OtherStorage")
    def worker(m: func.QueueMessage) -> None:
        return None

    @bp.timer_trigger(arg_name="t", schedule="0 */5 * * * *", run_on_startup=True)
    def tick(t: func.TimerRequest) -> None:
        return None

    @bp.event_grid_trigger(arg_name="event")
    def on_event(event: func.EventGridEvent) -> None:
        return None

    @bp.blob_trigger(arg_name="blob", path="c/{name}", connection="AzureWebJobsStorage")
    def on_blob(blob: func.InputStream) -> None:
        return None

    app.register_functions(bp)
    return app


def test_every_trigger_is_read_from_the_app() -> None:
    index = index_app(_app())
    by_name = {f.name: f for f in index.http}
    assert by_name["get_run"].route.template == "runs/{id}" and by_name["get_run"].methods == frozenset({"GET", "POST"})
    assert by_name["get_run"].level is Level.ANONYMOUS and by_name["get_run"].arg_name == "req"
    assert by_name["plain"].route.template == "plain" and by_name["plain"].methods is None
    assert by_name["plain"].level is Level.ADMIN
    (queue,) = index.queues
    assert (queue.name, queue.queue_name, queue.connection, queue.arg_name) == ("worker", "work", "OtherStorage", "m")
    (timer,) = index.timers
    assert (timer.name, timer.schedule, timer.run_on_startup) == ("tick", "0 */5 * * * *", True)
    assert index.eventgrid_function("ON_EVENT") is not None and index.eventgrid_function("nope") is None
    assert index.unsupported == ("on_blob (blobTrigger)",)


def test_a_bad_route_or_schedule_names_the_function() -> None:
    app = func.FunctionApp()

    @app.route(route="x/{n:number}")
    def bad_route(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse("x")

    with pytest.raises(DiscoveryError, match=r"bad_route.*unknown constraint"):
        index_app(app)
    app = func.FunctionApp()

    @app.timer_trigger(arg_name="t", schedule="*/5 * * * *")
    def five_fields(t: func.TimerRequest) -> None:
        return None

    with pytest.raises(DiscoveryError, match="five_fields: schedule"):
        index_app(app)


def test_the_real_app_registers_its_engine_triggers() -> None:
    import function_app

    index = index_app(function_app.app)
    assert {q.queue_name for q in index.queues} == {"drwork", "drwork-poison", "drsignals", "drevents"}
    timers = {(t.name, t.run_on_startup, t.schedule) for t in index.timers}
    assert timers == {
        ("engine_janitor", False, "0 */2 * * * *"),
        ("probe_regions", False, "0 * * * * *"),
        ("readiness_timer", False, "0 */30 * * * *"),
        ("drill_timer_tick", False, "0 0 * * * *"),
        ("reports_repair", False, "0 */10 * * * *"),
    }
    assert "http_health" in {f.name for f in index.http} and index.unsupported == ()
