"""Fixtures: a started stand-in, and a tiny app endpoint that records Slack's requests and answers them."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from localslack import SlackStandIn
from tests.localslack.constants import ALICE, BOB, GENERAL, SECRET

Answer = Callable[[dict[str, str], bytes], tuple[int, dict[str, str], bytes]]


@dataclass
class AppEndpoint:
    """An HTTP endpoint standing in for the app: records each request, answers with `answer`."""

    url: str = ""
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    answer: Answer = lambda headers, body: (200, {}, b"")


@pytest.fixture
def slack(tmp_path) -> Iterator[SlackStandIn]:
    with SlackStandIn(
        signing_secret=SECRET,
        files_dir=tmp_path / "files",
        users={ALICE: "alice", BOB: "bob"},
        channels={GENERAL: "general"},
    ) as stand_in:
        yield stand_in


@pytest.fixture
def app_endpoint(slack: SlackStandIn) -> Iterator[AppEndpoint]:
    endpoint = AppEndpoint()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            endpoint.requests.append((dict(self.headers.items()), body))
            status, headers, answer = endpoint.answer(dict(self.headers.items()), body)
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    endpoint.url = f"http://127.0.0.1:{server.server_address[1]}/slack/events"
    slack.connect_app(endpoint.url)
    yield endpoint
    server.shutdown()
    server.server_close()
