"""The probe timer's blueprint alone, for the devhost: the test reads the signals queue itself, which the full app's
signal intake would otherwise consume (``function_app`` registers the same blueprint; see test_discovery)."""

import azure.functions as func

from functions.probes import bp

app = func.FunctionApp()
app.register_functions(bp)
