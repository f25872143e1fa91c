"""The simulator on a real socket: werkzeug's threaded server in a background thread.

with PlugsurfingSimulator(port=0) as sim:
    settings.drive_api_base_url = sim.drive_base_url  # {base}/drive
    settings.oioi_endpoint_url = sim.oioi_url          # {base}/api/v4/request
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from simulator.app import create_app
from simulator.clock import Clock
from simulator.core import DEFAULT_API_KEY, DEFAULT_OIOI_KEY, SimulatorCore


class QuietRequestHandler(WSGIRequestHandler):
    """The app logs one line per request itself; werkzeug's access log would double it."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class PlugsurfingSimulator(SimulatorCore):
    """A Plugsurfing stand-in: `app` for the Flask test client, `start()` for real HTTP."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str = DEFAULT_API_KEY,
        oioi_key: str = DEFAULT_OIOI_KEY,
        clock: Clock | None = None,
        seed: int | None = None,
    ) -> None:
        super().__init__(api_key=api_key, oioi_key=oioi_key, clock=clock, seed=seed)
        self.host = host
        self.port = port
        self.app = create_app(self)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> PlugsurfingSimulator:
        """Bind (port 0 picks a free port) and serve in a daemon thread; returns self."""
        if self._server is not None:
            raise RuntimeError("simulator already started")
        self.faults.released.clear()
        self._server = make_server(
            self.host, self.port, self.app, threaded=True, request_handler=QuietRequestHandler
        )
        self.port = self._server.port
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # so stop() returns quickly
            name="plugsurfing-simulator",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Release hanging requests, stop accepting, close the socket. Safe to call twice."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        self.faults.released.set()
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("simulator not started")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host  # noqa: S104 - comparison only
        return f"http://{host}:{self.port}"

    @property
    def drive_base_url(self) -> str:
        """What the product's DRIVE_API_BASE_URL should be (EMP paths live under it too)."""
        return f"{self.base_url}/drive"

    @property
    def oioi_url(self) -> str:
        """What the product's OIOI_ENDPOINT_URL should be."""
        return f"{self.base_url}/api/v4/request"

    def __enter__(self) -> PlugsurfingSimulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where: Any = self.base_url if self.running else "not started"
        return f"PlugsurfingSimulator({where})"
