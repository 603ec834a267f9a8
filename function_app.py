"""Azure Functions entry point: registers the blueprints in ``functions/`` and nothing else."""

import azure.functions as func

from functions.drills import bp as drills_bp
from functions.engine import bp as engine_bp
from functions.events import bp as events_bp
from functions.http_meta import bp as meta_bp
from functions.http_runs import bp as runs_bp
from functions.monitoring import bp as monitoring_bp
from functions.probes import bp as probes_bp
from functions.reports import bp as reports_bp
from functions.signals import bp as signals_bp

app = func.FunctionApp()
app.register_functions(meta_bp)
app.register_functions(runs_bp)
app.register_functions(engine_bp)
app.register_functions(drills_bp)
app.register_functions(reports_bp)
app.register_functions(probes_bp)
app.register_functions(signals_bp)
app.register_functions(monitoring_bp)
app.register_functions(events_bp)
