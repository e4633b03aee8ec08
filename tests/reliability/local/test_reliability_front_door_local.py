"""The local HTTP server's front door: malformed, unsigned, oversized and stalled requests get a 4xx
(never a 500, never a traceback) and hold no thread for more than a few seconds; a signed /video is
still answered meanwhile. Raw sockets, as an attacker would send them."""

from __future__ import annotations

import contextlib
import socket
import time
from urllib.parse import urlsplit

import pytest

from tests.bot.conftest import ALICE, CHANNEL, roots
from tests.reliability.ledger import InputCase

NOW = str(int(time.time()))
FORM = "application/x-www-form-urlencoded"
COMMAND = b"command=%2Fvideo&text=a+fox&user_id=UALICE&channel_id=CVIDEOS"


def request(
    body: bytes = COMMAND,
    *,
    method: str = "POST",
    path: str = "/slack/events",
    headers: dict[str, str] | None = None,
    length: str | None = None,
) -> bytes:
    sent = {
        "Host": "127.0.0.1",
        "Content-Type": FORM,
        "X-Slack-Request-Timestamp": str(int(time.time())),
        "X-Slack-Signature": "v0=" + "0" * 64,
        "Content-Length": str(len(body)) if length is None else length,
        **(headers or {}),
    }
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in sent.items() if v is not None
    )
    return head.encode("latin-1") + b"\r\n" + body


def without(name: str) -> bytes:
    return request(headers={name: None})  # type: ignore[dict-item]


MALFORMED = {
    "Content-Length not a number": request(length="abc"),
    "Content-Length negative": request(length="-5"),
    "Content-Length with a superscript digit": request(length="1²"),
    "Content-Length of 5,000 digits": request(length="9" * 5000),
    "Content-Length larger than the body, then nothing": request(length="200"),
    "no Content-Length": without("Content-Length"),
    "chunked": request(headers={"Transfer-Encoding": "chunked", "Content-Length": None}),  # type: ignore[dict-item]
    "invalid UTF-8 body": request(b"\xff\xfe\xfd text=\xc3\x28"),
    "a body over 1 MiB (declared, not sent)": request(b"x" * 10, length=str(50 * 2**20)),
    "a timestamp of 5,000 digits": request(headers={"X-Slack-Request-Timestamp": "9" * 5000}),
    "a superscript timestamp": request(headers={"X-Slack-Request-Timestamp": "²".encode().decode("latin-1")}),
    "a full-width timestamp": request(
        headers={"X-Slack-Request-Timestamp": "１７".encode().decode("latin-1")}
    ),
    "an empty timestamp": request(headers={"X-Slack-Request-Timestamp": ""}),
    "no timestamp": without("X-Slack-Request-Timestamp"),
    "no signature": without("X-Slack-Signature"),
    "a signature of 10,000 characters": request(headers={"X-Slack-Signature": "v0=" + "a" * 10_000}),
    "payload= then 100 KB of [": request(b"payload=" + b"[" * 100_000),
    "JSON nested 100,000 deep": request(
        b'{"event": ' + b"[" * 100_000, headers={"Content-Type": "application/json"}
    ),
    "garbage payload": request(b"payload=%7Bnot-json"),
    "binary noise": request(bytes(range(256)) * 8, headers={"Content-Type": "application/octet-stream"}),
    "GET": request(b"", method="GET"),
    "PUT": request(method="PUT"),
    "DELETE": request(b"", method="DELETE"),
    "HEAD": request(b"", method="HEAD"),
    "another path": request(path="/admin"),
    "a request line of garbage": b"\x00\x01\x02 garbage\r\n\r\n",
    "no headers at all": b"POST /slack/events HTTP/1.1\r\n\r\n",
    "HTTP/0.9": b"POST /slack/events\r\n",
    "a header without a colon": b"POST /slack/events HTTP/1.1\r\nnonsense\r\nContent-Length: 3\r\n\r\nabc",
    "a header line of 100 KB": request(headers={"X-Big": "a" * 100_000}),
    "200 headers": request(headers={f"X-H{i}": "1" for i in range(200)}),
}


def exchange(url: str, raw: bytes, *, timeout: float = 15) -> int | None:
    """Send `raw`, half-close, and read the status code (None when the server answered nothing)."""
    host, port = urlsplit(url).hostname, urlsplit(url).port
    with socket.create_connection((host, port), timeout=timeout) as conn:
        try:
            conn.sendall(raw)
            conn.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server refused before reading it all
        answer = b""
        try:
            while chunk := conn.recv(65536):
                answer += chunk
        except OSError:
            pass
    if not answer.startswith(b"HTTP/"):
        return None
    return int(answer.split(b" ", 2)[1])


@pytest.fixture
def app_url(slack, start_app) -> str:
    """The app's request URL (the app started as in every local test)."""
    seen = []
    connect = slack.connect_app

    def record(target):
        seen.append(target)
        connect(target)

    slack.connect_app = record
    start_app()
    return seen[-1]


def test_malformed_unsigned_requests_get_a_4xx_never_a_500(app_url, capfd, ledger):
    url = app_url
    statuses = {name: exchange(url, raw) for name, raw in MALFORMED.items()}
    errors = capfd.readouterr().err
    bad = {name: status for name, status in statuses.items() if status is None or not 400 <= status < 500}
    ledger.input(
        InputCase(
            "Access",
            "malformed unsigned requests to the local server (lengths, encodings, timestamps, methods, "
            "chunked, headers)",
            tried=len(MALFORMED),
            answered=len(MALFORMED) - len(bad),
            failures=len(bad) + ("Traceback" in errors),
            note="401 unsigned, 405 method, 411/400 length, 413 too large, 400/431 malformed; no 500",
        )
    )
    assert bad == {}
    assert "Traceback" not in errors
    assert statuses["a body over 1 MiB (declared, not sent)"] == 413
    assert statuses["payload= then 100 KB of ["] == 401


def test_a_stalled_upload_is_cut_off_within_seconds(app_url, ledger):
    url = app_url
    host, port = urlsplit(url).hostname, urlsplit(url).port
    started = time.monotonic()
    with socket.create_connection((host, port), timeout=30) as conn:
        conn.sendall(request(length="100")[:-5])  # the headers, then the body trickles and stops
        answer = b""
        for _ in range(40):  # a byte every quarter second: each read alone would be within any timeout
            try:
                conn.sendall(b"x")
            except OSError:
                break
            time.sleep(0.25)
        try:
            while chunk := conn.recv(65536):
                answer += chunk
        except OSError:
            pass
    held = time.monotonic() - started
    ledger.input(
        InputCase(
            "Access",
            "a slow-loris upload to the local server (a byte every 0.25 s)",
            tried=1,
            answered=int(held < 9),
            failures=int(held >= 9),
            note="cut off at the 5 s read deadline (408 if it can still be written to)",
        )
    )
    assert held < 9


def test_a_signed_command_is_answered_while_300_connections_stall(slack, app_url, alice, ledger):
    url = app_url
    host, port = urlsplit(url).hostname, urlsplit(url).port
    stalled = []
    for _ in range(300):
        conn = socket.create_connection((host, port), timeout=30)
        conn.sendall(b"POST /slack/events HTTP/1.1\r\nContent-Length: 10")  # and never finishes
        stalled.append(conn)
    try:
        answer = slack.slash_command("/video", "a fox", user=ALICE, channel=CHANNEL)
        deadline = time.monotonic() + 15
        closed = 0
        for conn in stalled:
            conn.settimeout(max(0.1, deadline - time.monotonic()))
            with contextlib.suppress(OSError):
                conn.recv(1024)  # b"" (closed) or an answer: either way the server let go
                closed += 1
    finally:
        for conn in stalled:
            conn.close()
    ledger.input(
        InputCase(
            "Access",
            "300 stalled connections to the local server, and a signed /video among them",
            tried=301,
            answered=closed + (answer.status == 200),
            failures=301 - closed - (answer.status == 200),
            note="the /video is acked; each stalled connection is closed at the 5 s read deadline",
        )
    )
    assert answer.status == 200 and answer.elapsed < 3
    assert closed == 300
    alice.draft_card(slack.wait_until(lambda: roots(slack)[0]))
