"""One place that wires the application: adapters for Azure, for local runs and for tests.

``build`` does no I/O and imports the Azure SDKs only when called, so a Functions cold start pays for
them once, on first use. ``App.ensure_storage`` creates the tables and queues (idempotent).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lib.adapters.clocks import SystemClock
from lib.domain.dr import parse_request
from lib.engine import Engine, EngineConfig, RunOutbox, StartResult, Workflow
from lib.events import DeliveryPolicy, EventDelivery, EventNotifier
from lib.ports.clock import Clock
from lib.ports.events import EventPublisher
from lib.ports.notifier import Notifier
from lib.ports.site_recovery import SiteRecovery
from lib.settings import Settings
from lib.telemetry import StepTracing, install_log_context
from lib.workflows.deps import DrDeps

if TYPE_CHECKING:
    from lib.adapters.engine_storage import EngineStorage
    from lib.adapters.storage_clients import StorageClients
    from lib.adapters.storage_work_queue import StorageWorkQueue
    from lib.adapters.table_locks import TableItemLocks
    from lib.adapters.table_read_budget import TableReadBudget
    from lib.autopilot.wiring import Wired
    from lib.reports import ReportWriter
    from lib.telemetry.otel import Telemetry


def workflows() -> dict[str, Workflow[DrDeps]]:
    from lib.workflows.drill import DRILL_WORKFLOW
    from lib.workflows.failover import FAILBACK_WORKFLOW, FAILOVER_WORKFLOW

    return {w.name: w for w in (FAILOVER_WORKFLOW, FAILBACK_WORKFLOW, DRILL_WORKFLOW)}


@dataclass
class App:
    settings: Settings
    engine: Engine[DrDeps]
    deps: DrDeps
    storage: EngineStorage
    locks: TableItemLocks
    clients: StorageClients  # every table, queue and blob client of the app comes from here
    events: EventDelivery  # operator events: the topic, or the retry queue (``events.retries``)
    reports: ReportWriter
    telemetry: Telemetry | None = None  # OpenTelemetry export (None unless APPLICATIONINSIGHTS_CONNECTION_STRING)
    _storage_ready: bool = False
    _autopilot: Wired | None = None
    # Parts built on first use by other wiring modules (e.g. lib.monitoring), kept for the App's lifetime.
    parts: dict[str, Any] = field(default_factory=dict)

    def ensure_storage(self) -> None:
        if self._storage_ready:
            return
        self.storage.provision()
        self.locks.ensure_table()
        self._events_queue().create_queue()
        self.reports.store.ensure()
        self.autopilot().provision()
        self._storage_ready = True

    def _events_queue(self) -> StorageWorkQueue:
        from lib.adapters.storage_work_queue import StorageWorkQueue

        queue = self.events.retries
        assert isinstance(queue, StorageWorkQueue)
        return queue

    def autopilot(self) -> Wired:
        """The autopilot (signals in, guarded failovers out), built on first use: its policy, stores and queue."""
        if self._autopilot is None:
            from lib.autopilot.wiring import build_autopilot

            self._autopilot = build_autopilot(self)
        return self._autopilot

    def start(self, kind: str, payload: Mapping[str, Any], *, key: str | None = None, actor: str = "") -> StartResult:
        """Validate a DR request body (``ValidationError`` names the field) and start its run."""
        request = parse_request(kind, payload, actor=actor)
        self.ensure_storage()
        return self.engine.start(kind, request.to_json(), key, actor=actor)


def _read_budget(settings: Settings, clients: StorageClients) -> TableReadBudget | None:
    """The subscription's ARM read budget; its ledger lives in the locks table (another partition)."""
    if settings.arm_reads_per_hour <= 0:
        return None
    from lib.adapters.table_read_budget import TableReadBudget
    from lib.domain.read_budget import ReadPace

    pace = ReadPace(per_hour=settings.arm_reads_per_hour)
    table = clients.table(settings.locks_table)
    return TableReadBudget(table, settings.asr_subscription_id, pace, timer_scale=settings.timer_scale)


def _publisher(settings: Settings) -> EventPublisher:
    if not settings.eventgrid_endpoint:
        from lib.adapters.log_publisher import LogPublisher

        return LogPublisher()
    from azure.core.credentials import AzureKeyCredential

    from lib.adapters.eventgrid_publisher import EventGridPublisher

    source = settings.events_source
    if settings.eventgrid_key:
        return EventGridPublisher(settings.eventgrid_endpoint, AzureKeyCredential(settings.eventgrid_key), source)
    from lib.adapters.credentials import azure_credential

    return EventGridPublisher(settings.eventgrid_endpoint, azure_credential(settings.azure_client_id), source)


def build(
    settings: Settings,
    *,
    site_recovery: SiteRecovery | None = None,
    notifier: Notifier | None = None,
    clock: Clock | None = None,
    engine_config: EngineConfig | None = None,
    asr_options: Any = None,
    publisher: EventPublisher | None = None,
    delivery: DeliveryPolicy | None = None,
    telemetry: Telemetry | None = None,
) -> App:
    from lib.adapters.arm_read_meter import ArmReadMeter
    from lib.adapters.asr_sdk import build_site_recovery
    from lib.adapters.blob_report_store import BlobReportStore
    from lib.adapters.engine_storage import engine_storage
    from lib.adapters.http_probe import UrllibProbe
    from lib.adapters.storage_clients import StorageClients
    from lib.adapters.storage_work_queue import StorageWorkQueue
    from lib.adapters.table_locks import TableItemLocks
    from lib.reports import ReportWriter

    clients = StorageClients.from_settings(settings)
    install_log_context()
    if telemetry is None and settings.appinsights_connection:
        from lib.telemetry.otel import azure_monitor  # OpenTelemetry is imported only when it exports

        telemetry = azure_monitor(settings.appinsights_connection, settings.appinsights_auth)
    storage = engine_storage(
        clients, queue_name=settings.work_queue, runs_table=settings.runs_table, index_table=settings.run_index_table
    )

    def holder_active(run_id: str) -> bool:
        loaded = storage.store.load(run_id)
        return loaded is not None and loaded.run.active

    locks = TableItemLocks(clients.table(settings.locks_table), holder_active)
    engines: list[Engine[DrDeps]] = []  # a rollback starts a linked run on the engine built below

    def start_run(workflow: str, payload: Mapping[str, Any], key: str, actor: str) -> str:
        return engines[0].start(workflow, payload, key, actor=actor).run_id

    meter = ArmReadMeter() if site_recovery is None else None
    budget = _read_budget(settings, clients)
    clock = clock or SystemClock()
    events = EventDelivery(
        publisher or _publisher(settings),
        StorageWorkQueue.from_clients(clients, settings.events_queue, clock),
        clock,
        delivery,
    )
    deps = DrDeps(
        asr=site_recovery
        or build_site_recovery(
            settings, options=asr_options, observer=meter, cache_storage_accounts=settings.cache_storage_accounts()
        ),
        locks=locks,
        notifier=notifier or EventNotifier(events, clock),
        probe=UrllibProbe(),
        start_run=start_run,
        budget=budget,
        read_meter=meter.reads if meter is not None else None,
        cache_accounts=settings.cache_storage_accounts(),
    )
    engine = Engine(
        registry=workflows(),
        deps=deps,
        store=storage.store,
        queue=storage.queue,
        poison_queue=storage.poison,
        clock=clock,
        timer_scale=settings.timer_scale,
        config=engine_config,
        outbox=RunOutbox(events, settings.public_url),
        tracer=StepTracing(telemetry),
    )
    engines.append(engine)
    # A report for every finished run, written right after the checkpoint that finished it.
    reports = ReportWriter(
        BlobReportStore(lambda: clients.container(settings.reports_container)), storage.store, engine.clock
    )
    engine.add_observer(reports.observe)
    if telemetry is not None:
        telemetry.watch_active_runs(lambda: len(storage.store.index_active()))
    return App(settings, engine, deps, storage, locks, clients, events, reports, telemetry)
