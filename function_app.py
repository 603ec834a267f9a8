"""Azure Functions entry point: registers the blueprints in ``functions/`` and nothing else."""

import azure.functions as func

from functions.engine import bp as engine_bp
from functions.status import bp as status_bp

app = func.FunctionApp()
app.register_functions(status_bp)
app.register_functions(engine_bp)
