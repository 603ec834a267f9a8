"""``make demo``: a regional outage played end to end through the app's real entry points, on local stand-ins.

Azurite, the HTTPS ASR emulator (a time-scaled demo topology) and the devhost serving ``function_app.py`` start;
then a Service Health incident arrives on ``/api/alerts`` (duplicated, as Azure delivers it), the policy fails the
region over on its own, the resolved notice records "region recovered" without failing back, an operator fails
back over HTTP, and the drill timer rehearses a plan. ``python -m demo --help`` lists the knobs.
"""
