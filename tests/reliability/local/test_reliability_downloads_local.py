"""Downloading a shared picture: a host that trickles the bytes is cut off at an overall deadline (not
a per-read one it can keep resetting), and a file link with an impossible port gets a sentence that
says so, not "Sorry, something went wrong"."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bot.images import PictureRejected, SharedFile, SlackPictures
from bot.limits import Limits
from tests.bot.conftest import file_event
from tests.reliability.ledger import InputCase
from tests.reliability.local.test_reliability_hostile_files import _client

TRICKLE_BYTES = 30
TRICKLE_EVERY_S = 0.5  # each read alone is well within any read timeout


class Trickler:
    """A file host on 127.0.0.1 that sends a picture's bytes one at a time."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(TRICKLE_BYTES))
                self.end_headers()
                try:
                    for _ in range(TRICKLE_BYTES):
                        self.wfile.write(b"\x89")
                        self.wfile.flush()
                        time.sleep(TRICKLE_EVERY_S)
                except OSError:
                    return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.netloc = f"127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def trickler():
    server = Trickler()
    yield server
    server.close()


def test_a_trickled_download_is_cut_off_at_the_overall_deadline(trickler, ledger):
    pictures = SlackPictures(_client("xoxb-t"), Limits(), frozenset({trickler.netloc}), deadline_s=2)
    shared = SharedFile("F1", "cat.png", "image/png", TRICKLE_BYTES, f"http://{trickler.netloc}/cat.png")
    started = time.monotonic()
    with pytest.raises(PictureRejected, match="taking too long") as refused:
        pictures.fetch(shared)
    took = time.monotonic() - started
    ledger.input(
        InputCase(
            "Hostile files",
            f"a picture trickled a byte every {TRICKLE_EVERY_S:g} s ({TRICKLE_BYTES} bytes)",
            tried=1,
            answered=int(took < 5),
            failures=int(took >= 5),
            note="cut off at the download's overall deadline (20 s; 2 s in the test), with a sentence",
        )
    )
    assert took < 5  # the deadline (2 s) plus at most one read's timeout, not 15 s of trickle
    assert "Please try sharing it again" in str(refused.value)


def test_a_file_link_with_an_impossible_port_is_refused_with_a_sentence(slack, videobot, alice, ledger):
    urls = ["https://files.slack.com:99999/x", "https://files.slack.com:-1/x", "https://files.slack.com:x/x"]
    for n, url in enumerate(urls):
        file = {"id": f"F0PORT{n}", "name": "cat.png", "mimetype": "image/png", "size": 1000}
        slack.send_event(file_event({**file, "url_private_download": url}, ts=f"1700000001.00{n:04d}"))
    notes = slack.wait_until(
        lambda: (
            found if len(found := [t for t in alice.ephemerals() if "malformed" in t]) == len(urls) else None
        ),
        what="a note for each link",
    )
    ledger.input(
        InputCase(
            "Hostile files",
            "file links on Slack's host with an impossible port (99999, -1, x)",
            tried=len(urls),
            answered=len(notes),
            failures=len(urls) - len(notes),
            note="refused before any request, saying the link is malformed",
        )
    )
    assert not [t for t in alice.ephemerals() if t.startswith("Sorry")]
