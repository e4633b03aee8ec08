"""SlackStandIn: a real HTTP server on 127.0.0.1 that slack_sdk's WebClient talks to as if it were Slack.

Routes (all on the one port):
    POST /api/<method>                  the Web API (form or JSON bodies, Bearer token)
    POST /upload/v1/<token>             the upload_url of files.getUploadURLExternal (raw bytes)
    GET  /files-pri/<team>-<id>/...     url_private(_download) of files (bot token required)
    POST /response/<id>                 response_url of commands and interactions
    GET  /archives/<channel>/p<ts>      a permalink: the thread as a text transcript
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import mimetypes
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import parse_qsl, unquote, urlsplit

from slack_sdk import WebClient

from localslack import shapes
from localslack.people import AppResponse, People
from localslack.transcript import format_transcript
from localslack.webapi import ApiError, WebApi, normalize, retry_after_seconds
from localslack.workspace import ApiCall, Fault, Message, Status, UploadedFile, View, Workspace

T = TypeVar("T")

# Pseudo-method names for inject(): the non-API URLs the stand-in serves.
UPLOAD_URL = "upload_url"
URL_PRIVATE = "url_private"
RESPONSE_URL = "response_url"
_DEFAULT_ERRORS = {429: "ratelimited", 500: "internal_error", 502: "bad_gateway", 503: "service_unavailable"}


class SlackStandIn(People):
    """The local Slack: Web API + upload/download URLs + response URLs, and Slack's requests to the app."""

    def __init__(
        self,
        *,
        signing_secret: str,
        files_dir: Path,
        bot_token: str = "xoxb-local",  # noqa: S107 (a local stand-in's token, not a secret)
        bot_user_id: str = "UVIDEOBOT",
        bot_id: str = "BVIDEOBOT",
        team_id: str = "TLOCAL",
        users: dict[str, str] | None = None,
        channels: dict[str, str] | None = None,
        app_id: str = "AVIDEOBOT",
        bot_name: str = "videobot",
        echo_bot_messages: bool = False,
        ack_timeout: float = 3.0,
        trigger_ttl: float = 3.0,
        stream_ttl: float = 300.0,
    ) -> None:
        files_dir = Path(files_dir)
        files_dir.mkdir(parents=True, exist_ok=True)
        self.workspace = Workspace(
            files_dir=files_dir,
            bot_token=bot_token,
            bot_user_id=bot_user_id,
            bot_id=bot_id,
            team_id=team_id,
            app_id=app_id,
            bot_name=bot_name,
            users=dict(users or {}),
            channels=dict(channels or {}),
        )
        super().__init__(
            signing_secret=signing_secret, ack_timeout=ack_timeout, echo_bot_messages=echo_bot_messages
        )
        self.api = WebApi(self.workspace, echo=self.echo, trigger_ttl=trigger_ttl, stream_ttl=stream_ttl)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._windows: dict[str, list[float]] = {}

    # ------------------------------------------------------------------------------------------- lifecycle

    def start(self) -> SlackStandIn:
        if self._server is not None:
            raise RuntimeError("already started")
        self._server = _Server(("127.0.0.1", 0), _Handler, self)
        self.workspace.base_url = f"http://127.0.0.1:{self._server.server_address[1]}/"
        # A short poll interval: shutdown() waits for the loop to notice, and tests stop servers often.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="localslack", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stop_echoes()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> SlackStandIn:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:PORT/"""
        return self.workspace.base_url

    @property
    def api_url(self) -> str:
        """What to give WebClient as base_url (with its trailing slash)."""
        return self.base_url + "api/"

    @property
    def users(self) -> dict[str, str]:
        """User id -> display name, the bot and Slackbot included (what format_transcript takes)."""
        with self.workspace.lock:
            return dict(self.workspace.users)

    @property
    def bot_token(self) -> str:
        return self.workspace.bot_token

    def client(self, **kwargs: Any) -> WebClient:
        """A real WebClient pointed at the stand-in, with the bot token."""
        return WebClient(token=self.bot_token, base_url=self.api_url, **kwargs)

    # ------------------------------------------------------------------------------------------- faults

    def inject(
        self,
        method: str,
        *,
        status: int | None = None,
        error: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
        delay: float = 0.0,
        disconnect: bool = False,
        after: int = 0,
    ) -> Fault:
        """The next `times` calls of `method` fail (after letting `after` calls through first).

        `method` is a Web API method or UPLOAD_URL / URL_PRIVATE / RESPONSE_URL. Without `status`: a
        `retry_after` means HTTP 429 with that Retry-After; an `error` means HTTP 200 with
        `{"ok": false, "error": error}`; `delay` or `disconnect` alone mean a slow answer or a dropped
        connection; nothing at all means HTTP 500.
        """
        if status is None:
            if retry_after is not None:
                status = 429
            elif error is not None:
                status = 200
            elif delay or disconnect:
                status = 0  # answer normally, after the delay
            else:
                status = 500
        if status == 429 and retry_after is None:
            retry_after = 1
        fault = Fault(method, status, error, retry_after, times, delay, disconnect, after)
        with self.workspace.lock:
            self.workspace.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self.workspace.lock:
            self.workspace.faults.clear()

    def rate_limit(self, method: str, calls: int, per_seconds: float = 60.0) -> None:
        """From now on, over `calls` calls of `method` within `per_seconds` answer 429, like Slack tiers."""
        with self.workspace.lock:
            self.workspace.rate_limits[method] = (calls, per_seconds)

    def _take_fault(self, method: str) -> Fault | None:
        with self.workspace.lock:
            for fault in self.workspace.faults:
                if fault.method == method and fault.remaining > 0:
                    if fault.after > 0:
                        fault.after -= 1
                        return None
                    fault.remaining -= 1
                    taken = replace(fault)
                    if fault.remaining == 0:
                        self.workspace.faults.remove(fault)
                    return taken
        return None

    def _rate_limited(self, method: str) -> int | None:
        with self.workspace.lock:
            limit = self.workspace.rate_limits.get(method)
            if limit is None:
                return None
            calls, per = limit
            now = time.monotonic()
            window = [t for t in self._windows.get(method, []) if now - t < per]
            self._windows[method] = window
            if len(window) >= calls:
                return retry_after_seconds(window, per, now)
            window.append(now)
            return None

    # ------------------------------------------------------------------------------------------- directory

    def add_user(self, user_id: str, display_name: str) -> None:
        with self.workspace.lock:
            self.workspace.users[user_id] = display_name

    def add_channel(self, channel_id: str, name: str | None = None) -> None:
        self.workspace.add_channel(channel_id, name)

    def dm_channel(self, user_id: str) -> str:
        """The DM channel between the bot and a person (`D…`), created on first use."""
        return self.workspace.dm_channel(user_id)

    # ------------------------------------------------------------------------------------------- queries

    def thread(self, channel: str, thread_ts: str, *, include_ephemeral: bool = True) -> list[Message]:
        return self.workspace.thread(channel, thread_ts, include_ephemeral=include_ephemeral)

    def messages(
        self, channel: str | None = None, *, include_ephemeral: bool = False, include_deleted: bool = False
    ) -> list[Message]:
        return self.workspace.messages(
            channel, include_ephemeral=include_ephemeral, include_deleted=include_deleted
        )

    def message(self, channel: str, ts: str) -> Message | None:
        return self.workspace.message(channel, ts)

    def ephemerals(self, user: str | None = None) -> list[Message]:
        return self.workspace.ephemerals(user)

    @property
    def files(self) -> list[UploadedFile]:
        return self.workspace.files

    @property
    def views(self) -> list[View]:
        return self.workspace.views

    def home(self, user: str) -> View | None:
        """`user`'s Home tab as it shows now, or None before the app published one."""
        return self.workspace.home(user)

    def view(self, view_id: str) -> View | None:
        return next((v for v in self.views if v.id == view_id), None)

    @property
    def api_calls(self) -> list[ApiCall]:
        return self.workspace.api_calls

    def calls(self, method: str) -> list[ApiCall]:
        return self.workspace.calls(method)

    @property
    def statuses(self) -> list[Status]:
        return self.workspace.statuses

    @property
    def deliveries(self) -> list[AppResponse]:
        return self.workspace.deliveries

    def transcript(self, channel: str | None = None) -> str:
        return self.workspace.transcript(channel)

    def thread_transcript(self, channel: str, thread_ts: str) -> str:
        return format_transcript(self.thread(channel, thread_ts), self.workspace.users)

    def wait_until(self, predicate: Callable[[], T], timeout: float = 30, what: str = "") -> T:
        return self.workspace.wait_until(predicate, timeout=timeout, what=what)


# ---------------------------------------------------------------------------------------------------- HTTP


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], stand: SlackStandIn
    ) -> None:
        super().__init__(address, handler)
        self.stand = stand


def _multipart(body: bytes, content_type: str) -> dict[str, Any]:
    """Form fields of a multipart body (file parts as bytes)."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    parsed = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    fields: dict[str, Any] = {}
    for part in parsed.iter_parts():
        name = part.get_param("name", header="content-disposition")
        data = part.get_payload(decode=True) or b""
        fields[str(name)] = data if part.get_filename() else data.decode("utf-8", "replace")
    return fields


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "localslack/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # tests read the recorded calls, not an access log

    @property
    def stand(self) -> SlackStandIn:
        return self.server.stand

    # ------------------------------------------------------------------------------------------- plumbing

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _reply(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, data: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        self._reply(status, json.dumps(data).encode(), "application/json; charset=utf-8", headers)

    def _faulted(self, name: str, params: dict[str, Any] | None = None) -> bool:
        """Applies an injected fault; True when it has answered (or dropped) the request."""
        fault = self.stand._take_fault(name)
        if fault is None:
            return False
        if fault.delay:
            time.sleep(fault.delay)
        if fault.disconnect:
            self.close_connection = True  # no answer at all: the client sees the connection drop
            self._record(name, params, 0, None, injected=True)
            return True
        if fault.status == 0:
            return False
        error = fault.error or _DEFAULT_ERRORS.get(fault.status, "internal_error")
        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else None
        self._record(name, params, fault.status, error, injected=True)
        self._json(fault.status, {"ok": False, "error": error}, headers)
        return True

    def _record(
        self,
        method: str,
        params: dict[str, Any] | None,
        status: int,
        error: str | None,
        *,
        injected: bool = False,
    ) -> None:
        if params is None:
            return  # only Web API calls are recorded as api_calls
        call = ApiCall(method, params, status, error is None and status == 200, error, time.time(), injected)
        self.stand.workspace.record_call(call)

    # ------------------------------------------------------------------------------------------- routing

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        body = self._body()
        if path.startswith("/api/"):
            self._api(path[len("/api/") :], body)
        elif path.startswith("/upload/v1/"):
            self._upload(path[len("/upload/v1/") :], body)
        elif path.startswith("/response/"):
            self._response_url(path[len("/response/") :], body)
        else:
            self._reply(404, b"not found", "text/plain")

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path.startswith("/api/"):
            self._api(path[len("/api/") :], b"")
        elif path.startswith("/files-pri/"):
            self._download(path)
        elif path.startswith("/archives/"):
            self._permalink(path)
        else:
            self._reply(404, b"not found", "text/plain")

    # ------------------------------------------------------------------------------------------- Web API

    def _params(self, body: bytes) -> dict[str, Any]:
        params: dict[str, Any] = dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True))
        content_type = self.headers.get("Content-Type", "")
        if content_type.startswith("application/json"):
            data = json.loads(body or b"{}")
            if not isinstance(data, dict):
                raise ValueError("not an object")
            params.update(data)
        elif content_type.startswith("multipart/form-data"):
            params.update(_multipart(body, content_type))
        else:
            params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        return params

    def _api(self, method: str, body: bytes) -> None:
        ws = self.stand.workspace
        try:
            params = self._params(body)
        except ValueError:
            self._record(method, {}, 200, "invalid_json")
            self._json(200, {"ok": False, "error": "invalid_json"})
            return
        auth = self.headers.get("Authorization", "")
        token = auth[len("Bearer ") :] if auth.startswith("Bearer ") else params.pop("token", None)
        params.pop("token", None)
        if not token or token != ws.bot_token:
            error = "not_authed" if not token else "invalid_auth"
            self._record(method, params, 200, error)
            self._json(200, {"ok": False, "error": error})
            return
        if self._faulted(method, params):
            return
        retry_after = self.stand._rate_limited(method)
        if retry_after is not None:
            self._record(method, params, 429, "ratelimited")
            self._json(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(retry_after)})
            return
        try:
            with ws.lock:
                result = self.stand.api.call(method, params)
        except ApiError as exc:
            try:
                recorded = self._normalized(params)
            except ApiError:
                recorded = params
            self._record(method, recorded, 200, exc.error)
            self._json(200, {"ok": False, "error": exc.error, **exc.extra})
            return
        self._record(method, self._normalized(params), 200, None)
        self._json(200, result)

    @staticmethod
    def _normalized(params: dict[str, Any]) -> dict[str, Any]:
        return normalize(params)

    # ------------------------------------------------------------------------------------------- files

    def _upload(self, token: str, body: bytes) -> None:
        if self._faulted(UPLOAD_URL):
            return
        ws = self.stand.workspace
        content_type = self.headers.get("Content-Type", "")
        if content_type.startswith("multipart/form-data"):
            parts = _multipart(body, content_type)
            body = next((v for v in parts.values() if isinstance(v, bytes)), b"")
        with ws.lock:
            file_id = ws.uploads.get(token)
            f = ws.find_file(file_id or "")
            if f is None:
                self._reply(404, b"upload URL not found", "text/plain")
                return
            stored = ws.files_dir / f.id / Path(f.name).name
            stored.parent.mkdir(parents=True, exist_ok=True)
            stored.write_bytes(body)
            mimetype = mimetypes.guess_type(f.name)[0] or "application/octet-stream"
            ext = Path(f.name).suffix.lower().lstrip(".") or "binary"
            f.path, f.size, f.mimetype, f.filetype = (
                stored,
                len(body),
                mimetype,
                {"jpeg": "jpg"}.get(ext, ext),
            )
            if mimetype.startswith("image/"):
                size = shapes.image_size(stored)
                if size:
                    f.original_w, f.original_h = size
        self._reply(200, f"OK - {len(body)}".encode(), "text/plain; charset=utf-8")

    def _download(self, path: str) -> None:
        if self._faulted(URL_PRIVATE):
            return
        ws = self.stand.workspace
        parts = unquote(path).split("/")  # ['', 'files-pri', 'T-F…', ...]
        file_id = parts[2].split("-", 1)[-1] if len(parts) > 2 else ""
        f = ws.find_file(file_id)
        if f is None or f.path is None:
            self._reply(404, b"file not found", "text/plain")
            return
        if self.headers.get("Authorization", "") != f"Bearer {ws.bot_token}":
            self._reply(403, b"forbidden: url_private needs the bot token", "text/plain")
            return
        self._reply(200, f.path.read_bytes(), f.mimetype)

    # ------------------------------------------------------------------------------------------- response_url

    def _response_url(self, responder_id: str, body: bytes) -> None:
        if self._faulted(RESPONSE_URL):
            return
        try:
            params = self._params(body)
            if "payload" in params:
                params = json.loads(params["payload"])
        except ValueError:
            self._json(400, {"ok": False, "error": "invalid_payload"})
            return
        ws = self.stand.workspace
        try:
            with ws.lock:
                self.stand.api.respond(responder_id, params)
        except ApiError as exc:
            status = 404 if exc.error in ("no_service", "used_url", "expired_url") else 400
            self._json(status, {"ok": False, "error": exc.error})
            return
        self._json(200, {"ok": True})

    def _permalink(self, path: str) -> None:
        parts = path.split("/")  # ['', 'archives', 'C…', 'p1700000000123456']
        query = dict(parse_qsl(urlsplit(self.path).query))
        if len(parts) < 4 or not parts[3].startswith("p") or len(parts[3]) < 8:
            self._reply(404, b"not found", "text/plain")
            return
        digits = parts[3][1:]
        ts = f"{digits[:-6]}.{digits[-6:]}"
        text = self.stand.thread_transcript(parts[2], query.get("thread_ts", ts)) or "(no such message)"
        self._reply(200, text.encode(), "text/plain; charset=utf-8")
