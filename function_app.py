"""Azure Functions entry point: registers the blueprints in ``functions/`` and nothing else."""

import azure.functions as func

from functions.status import bp as status_bp

app = func.FunctionApp()
app.register_functions(status_bp)
