"""Run the demo department systems in a background thread (tests) or the foreground.

from tongban.exchange.demo_sources.server import start
sources = start()                      # port 0: a free port; db: TONGBAN_DEMO_SOURCES_DB
settings.TONGBAN_EXCHANGE_ENDPOINTS = {"demo": sources.url}
sources.set_fault("gaj_population", "slow:2")   # None clears it
...
sources.stop()
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from django.conf import settings

from tongban.exchange.demo_sources.app import DROP_KEY, DemoSourcesApp, Fault, load_definitions
from tongban.exchange.schemas import DataSourceDef

log = logging.getLogger("tongban.demo_sources")


def definitions_folder() -> Path:
    return Path(settings.TONGBAN_CATALOG_DIR) / "data_sources"


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _Handler(WSGIRequestHandler):
    def get_environ(self):
        environ = super().get_environ()
        environ[DROP_KEY] = self._drop
        return environ

    def _drop(self) -> None:
        # `drop`: the connection closes without a status line; the client sees a reset.
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)
        self.close_connection = True

    def log_message(self, format, *args):
        log.info("%s %s", self.address_string(), format % args)


class DemoSources:
    """A running demo department systems server: `url`, `set_fault`, `stop`."""

    def __init__(self, app: DemoSourcesApp, server: WSGIServer, thread: threading.Thread | None):
        self.app = app
        self._server = server
        self._thread = thread
        host, port = server.server_address[:2]
        self.host, self.port = host, port
        self.url = f"http://{host}:{port}"

    def set_fault(self, code: str, spec: Fault | str | None) -> None:
        """Inject a fault for source CODE (`slow:2`, `error:503`, `malformed`, `drop`; "*":
        every source); None clears it."""
        self.app.set_fault(code, spec)

    def clear_faults(self) -> None:
        self.app.clear_faults()

    def serve_forever(self) -> None:
        self._server.serve_forever(poll_interval=0.05)

    def stop(self) -> None:
        if self._thread:  # shutdown() waits for serve_forever: only from another thread
            self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> DemoSources:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def build(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    db: Path | str | None = None,
    faults: Mapping[str, Fault | str] | None = None,
    sources: Iterable[DataSourceDef] | None = None,
) -> DemoSources:
    """A bound server, not yet serving (the command serves it in the foreground)."""
    app = DemoSourcesApp(
        load_definitions(definitions_folder()) if sources is None else sources,
        db if db is not None else settings.TONGBAN_DEMO_SOURCES_DB,
        faults=faults,
    )
    server = make_server(host, port, app, server_class=_Server, handler_class=_Handler)
    return DemoSources(app, server, None)


def start(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    db: Path | str | None = None,
    faults: Mapping[str, Fault | str] | None = None,
    sources: Iterable[DataSourceDef] | None = None,
) -> DemoSources:
    """Serve in a background thread; returns at once, ready for requests."""
    running = build(host=host, port=port, db=db, faults=faults, sources=sources)
    thread = threading.Thread(
        target=running.serve_forever, name=f"demo-sources:{running.port}", daemon=True
    )
    running._thread = thread
    thread.start()
    return running
