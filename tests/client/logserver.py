"""A real HTTP server for the log-monitor tests: uvicorn on a loopback port in a thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from api.app import create_app
from tendering.platform import Platform


@contextmanager
def serve(platform: Platform) -> Iterator[str]:
    """Serve the app on ``platform`` at ``http://127.0.0.1:<free port>``; stop it afterwards."""
    app = create_app(platform=platform, configure_logs=False)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="log-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:  # waiting for a socket, not for time to pass
        assert thread.is_alive() and time.monotonic() < deadline, "the test server did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)
