"""``python -m devhost``: run a Functions app (default ``function_app:app``) the way the Functions host does.

Options: ``--port N`` (0 = a free port), ``--host ADDR`` (127.0.0.1), ``--app module[:attr]``, ``--script-root DIR``
(where host.json and local.settings.json are read; default the current directory). The first stdout line is a JSON
ready line ``{"url", "functionKey", "masterKey", "eventGridKey"}``; logs go to stderr. Exit code 2: the app could not
be loaded or hosted (the reason is on stderr). SIGTERM/SIGINT stop it cleanly.
"""

from __future__ import annotations

import sys

from devhost.main import main

if __name__ == "__main__":
    sys.exit(main())
