"""Fetching shared pictures: only Slack's file hosts, the token never sent elsewhere, a hard byte cap."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image
from slack_sdk import WebClient

from bot.conversation.limits import Limits
from bot.slack.files import PictureRejected, SharedFile, SlackPictures, allowed_file_hosts, host_allowed


def png(width=64, height=48) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 100, 50)).save(out, "PNG")
    return out.getvalue()


class Host:
    """A small HTTP server standing in for a file host: answers each GET with `answer(path)`."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []  # (path, Authorization)
        self.answer = lambda path: (200, {"Content-Type": "image/png"}, png())
        host = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                host.requests.append((self.path, self.headers.get("Authorization", "")))
                status, headers, body = host.answer(self.path)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.netloc = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str = "/files-pri/T1-F1/download/cat.png") -> str:
        return f"http://{self.netloc}{path}"


@contextmanager
def hosts(count: int) -> Iterator[list[Host]]:
    started = [Host() for _ in range(count)]
    try:
        yield started
    finally:
        for host in started:
            host.server.shutdown()
            host.server.server_close()


def pictures(*allowed: Host, limits: Limits | None = None) -> SlackPictures:
    client = WebClient(token="xoxb-secret-token")
    return SlackPictures(client, limits or Limits(), frozenset(h.netloc for h in allowed))


def shared(url: str, size: int = 1000) -> SharedFile:
    return SharedFile(id="F1", name="cat.png", mimetype="image/png", size=size, url=url)


def test_only_slacks_file_host_and_a_named_loopback_stand_in_are_allowed():
    local = allowed_file_hosts("http://127.0.0.1:8765/api/")
    assert host_allowed("https://files.slack.com/files-pri/T1-F1/cat.png", local)
    assert host_allowed("http://127.0.0.1:8765/files-pri/T1-F1/cat.png", local)
    assert not host_allowed("http://files.slack.com/files-pri/T1-F1/cat.png", local)  # never plain http
    assert not host_allowed("https://files.slack.com.attacker.example/cat.png", local)
    assert not host_allowed("http://127.0.0.1:9999/cat.png", local)
    assert allowed_file_hosts("https://slack.com/api/") == frozenset({"files.slack.com"})


def test_a_picture_is_fetched_with_the_bot_token_and_checked():
    with hosts(1) as (files,):
        picture = pictures(files).fetch(shared(files.url()))
    assert (picture.media_type, picture.extension, picture.width, picture.height) == (
        "image/png",
        "png",
        64,
        48,
    )
    assert files.requests == [("/files-pri/T1-F1/download/cat.png", "Bearer xoxb-secret-token")]


def test_a_redirect_off_the_allowed_hosts_is_refused_and_the_token_never_leaves():
    with hosts(2) as (files, elsewhere):
        files.answer = lambda path: (302, {"Location": elsewhere.url("/steal")}, b"")
        with pytest.raises(PictureRejected, match="somewhere I don't fetch from"):
            pictures(files).fetch(shared(files.url()))
    assert elsewhere.requests == []


def test_a_redirect_to_another_allowed_host_is_followed():
    with hosts(2) as (files, edge):
        files.answer = lambda path: (302, {"Location": edge.url("/cat.png")}, b"")
        picture = pictures(files, edge).fetch(shared(files.url()))
    assert picture.width == 64 and edge.requests[0][1] == "Bearer xoxb-secret-token"


def test_the_download_stops_at_the_byte_cap_whatever_the_metadata_said():
    with hosts(1) as (files,):
        files.answer = lambda path: (200, {"Content-Type": "image/png"}, b"\x89PNG" + b"0" * 50_000)
        with pytest.raises(PictureRejected, match="larger than"):
            pictures(files, limits=replace(Limits(), max_image_bytes=10_000)).fetch(
                shared(files.url(), size=100)
            )


def test_a_sign_in_page_instead_of_the_file_asks_for_the_permission():
    with hosts(1) as (files,):
        files.answer = lambda path: (200, {"Content-Type": "text/html"}, b"<html>sign in</html>")
        with pytest.raises(PictureRejected, match="permission to read files"):
            pictures(files).fetch(shared(files.url()))


def test_the_stored_name_is_made_only_of_safe_characters():
    picture = pictures().inspect(png())
    assert (
        picture.blob_key("C1", "1700000000.000100", "F1/../../etc")
        == "images/C1-1700000000.000100/F1....etc.png"
    )
