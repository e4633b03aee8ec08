"""Serve the Bolt app over HTTP on this machine (the demo and the tests send it signed requests).

Bolt's WSGI adapter on the standard library's WSGI server, one thread per request, as a real
deployment would answer concurrent Slack requests.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from types import TracebackType
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

SLACK_EVENTS_PATH = "/slack/events"
# Bolt's markers for its own lazy re-invocation on Lambda. Headers aren't signed, and here lazy
# listeners run in threads, so from the network they can only be someone's replay: dropped.
LAZY_MARKER_PREFIX = "HTTP_X_SLACK_BOLT_LAZY"

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def without_lazy_markers(app: WsgiApp) -> WsgiApp:
    def serve(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        kept = {k: v for k, v in environ.items() if not k.startswith(LAZY_MARKER_PREFIX)}
        return app(kept, start_response)

    return serve


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    # socketserver's default backlog is 5: a burst of Slack requests (twenty people clicking at once)
    # would find connections refused before a thread could take them.
    request_queue_size = 128


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class LocalAppServer:
    """`with LocalAppServer(app) as server:` → Slack requests go to `server.url`."""

    def __init__(self, app: App, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = make_server(
            host,
            port,
            without_lazy_markers(SlackRequestHandler(app, path=SLACK_EVENTS_PATH)),
            server_class=_ThreadingWSGIServer,
            handler_class=_QuietHandler,
        )
        self._thread = threading.Thread(target=self._server.serve_forever, name="bolt-http", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{SLACK_EVENTS_PATH}"

    def start(self) -> LocalAppServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> LocalAppServer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()
