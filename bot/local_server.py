"""Serve the Bolt app over HTTP on this machine (the demo and the tests send it signed requests).

Bolt's WSGI adapter on the standard library's WSGI server, one thread per request, as a real
deployment would answer concurrent Slack requests. In front of Bolt sits the same door as on Lambda
(`slack_front_door`): a request must arrive whole within a few seconds (a slow client can't hold a
thread), be no larger than Slack ever sends, and carry Slack's signature over its bytes, before
anything of it is parsed. Whatever isn't verifiably Slack's gets a 4xx, never a 500.
"""

from __future__ import annotations

import contextlib
import io
import socket
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from types import TracebackType
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot.slack_signature import signed_by_slack

SLACK_EVENTS_PATH = "/slack/events"
# Bolt's markers for its own lazy re-invocation on Lambda. Headers aren't signed, and here lazy
# listeners run in threads, so from the network they can only be someone's replay: dropped.
LAZY_MARKER_PREFIX = "HTTP_X_SLACK_BOLT_LAZY"
# Slack's requests are a few KB (a view submission with every block is well under 100 KB): a MiB is
# generous, and anything larger is refused from its Content-Length, unread.
MAX_BODY_BYTES = 1 << 20
# A request's line, headers and body must all arrive within this: Slack sends them at once.
READ_DEADLINE_S = 5.0
_READ_DONE = "videobot.read_done"  # environ key: the handler's "the body is in, stop the clock"

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def without_lazy_markers(app: WsgiApp) -> WsgiApp:
    def serve(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        kept = {k: v for k, v in environ.items() if not k.startswith(LAZY_MARKER_PREFIX)}
        return app(kept, start_response)

    return serve


def slack_front_door(
    app: WsgiApp, signing_secret: str, *, path: str = SLACK_EVENTS_PATH, max_body: int = MAX_BODY_BYTES
) -> WsgiApp:
    """Only whole, signed Slack requests reach `app`, with the body already read (and checked)."""

    def serve(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        def refuse(status: str, text: str, *headers: tuple[str, str]) -> Iterable[bytes]:
            # (wsgiref closes the connection after each answer: an unread body is never read)
            start_response(status, [("Content-Type", "text/plain; charset=utf-8"), *headers])
            return [text.encode()]

        if environ.get("PATH_INFO") != path:
            return refuse("404 Not Found", "Not Found")
        if environ.get("REQUEST_METHOD") != "POST":
            return refuse("405 Method Not Allowed", "Slack's requests are POSTs", ("Allow", "POST"))
        if environ.get("HTTP_TRANSFER_ENCODING"):  # Slack sends a Content-Length; wsgiref can't de-chunk
            return refuse("411 Length Required", "a Content-Length is required")
        declared = str(environ.get("CONTENT_LENGTH") or "")
        if not declared:
            return refuse("411 Length Required", "a Content-Length is required")
        if not (declared.isascii() and declared.isdigit() and len(declared) <= 12):
            return refuse("400 Bad Request", "a malformed Content-Length")
        length = int(declared)
        if length > max_body:
            return refuse("413 Content Too Large", f"bodies are limited to {max_body} bytes")
        body = _read_exactly(environ["wsgi.input"], length)
        read_done = environ.get(_READ_DONE)
        if read_done is not None:
            read_done()
        if body is None:
            return refuse("408 Request Timeout", "the body didn't arrive in time")
        timestamp = str(environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP") or "")
        signature = str(environ.get("HTTP_X_SLACK_SIGNATURE") or "")
        if not signed_by_slack(body, timestamp, signature, signing_secret):
            return refuse("401 Unauthorized", '{"error": "invalid request"}')
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:  # signed, so Slack's: it never sends anything but UTF-8
            return refuse("400 Bad Request", "the body isn't UTF-8")
        verified = dict(environ, CONTENT_LENGTH=str(len(body)))
        verified["wsgi.input"] = io.BytesIO(body)
        return app(verified, start_response)

    return serve


def _read_exactly(stream: Any, length: int) -> bytes | None:
    """`length` bytes, or None when the client stops short (closed, timed out, cut off)."""
    data = bytearray()
    try:
        while len(data) < length:
            block = stream.read(min(length - len(data), 64 * 1024))
            if not block:
                return None
            data += block
    except OSError:  # a socket timeout, or the connection cut off at the deadline
        return None
    return bytes(data)


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    # socketserver's default backlog is 5: a burst of Slack requests (twenty people clicking at once)
    # would find connections refused before a thread could take them.
    request_queue_size = 128
    read_deadline_s = READ_DEADLINE_S

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that vanished mid-request is no server error (wsgiref answers app errors itself)


class _GuardedHandler(WSGIRequestHandler):
    """One request per connection, which must arrive whole within the server's read deadline."""

    timeout = READ_DEADLINE_S  # also each read's own limit (socketserver applies it to the socket)
    default_request_version = "HTTP/1.0"  # refusals of HTTP/0.9-shaped lines carry a status line too

    def handle(self) -> None:
        self._reading = True
        self._reading_lock = threading.Lock()
        clock = threading.Timer(self.server.read_deadline_s, self._cut_off)  # type: ignore[attr-defined]
        clock.daemon = True
        clock.start()
        try:
            super().handle()
        except OSError:
            pass  # timed out or cut off while the request line or headers were still coming
        finally:
            clock.cancel()

    def get_environ(self) -> dict[str, Any]:
        environ = super().get_environ()
        environ[_READ_DONE] = self._read_done
        return environ

    def _read_done(self) -> None:
        with self._reading_lock:
            self._reading = False

    def _cut_off(self) -> None:
        with self._reading_lock:
            if not self._reading:
                return
        with contextlib.suppress(OSError):  # what is still being read ends now; a 4xx can still be written
            self.connection.shutdown(socket.SHUT_RD)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class LocalAppServer:
    """`with LocalAppServer(app) as server:` → Slack requests go to `server.url`."""

    def __init__(
        self,
        app: App,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        read_deadline_s: float = READ_DEADLINE_S,
        max_body: int = MAX_BODY_BYTES,
    ) -> None:
        bolt = without_lazy_markers(SlackRequestHandler(app, path=SLACK_EVENTS_PATH))
        self._server = make_server(
            host,
            port,
            slack_front_door(bolt, app._signing_secret, max_body=max_body),
            server_class=_ThreadingWSGIServer,
            handler_class=_GuardedHandler,
        )
        self._server.read_deadline_s = read_deadline_s  # type: ignore[attr-defined]
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
