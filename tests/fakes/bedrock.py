"""A local stand-in for Amazon Bedrock Runtime's Converse and ConverseStream, over real HTTP.

moto has no `converse`, and botocore's Stubber can't stub `converse_stream`, so this is a small HTTP
server on 127.0.0.1 that boto3 reaches through `endpoint_url=`, answering as Bedrock does:

    POST /model/{modelId}/converse          a JSON answer
    POST /model/{modelId}/converse-stream   AWS event-stream frames, sent as HTTP chunks
    POST /guardrail/{id}/version/{v}/apply  ApplyGuardrail: intervenes on texts with `guardrail_blocks`
                                            words (or on any image with `guardrail_blocks_images`)

Each request takes the next scripted `Reply` (or `default` once the script is used up): text (streamed a
few words per `contentBlockDelta`), a stop reason such as `guardrail_intervened`, an HTTP error before
any output (429 `ThrottlingException`, 503 ...), or an exception event partway through the stream.
Every request is recorded for assertions. Like Bedrock, it refuses a conversation whose roles don't
alternate user/assistant starting with the user.

Event-stream frames are built in the layout `botocore.eventstream` parses:
    [total length u32][headers length u32][CRC32 of those 8 bytes][headers][payload][CRC32 of all before]
with each string header as [name length u8][name][type 7][value length u16][value].
"""

from __future__ import annotations

import json
import struct
import threading
import time
import zlib
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlsplit

EVENT_STREAM = "application/vnd.amazon.eventstream"
STRING_HEADER = 7
DEFAULT_TEXT = (
    "A red fox trots through deep fresh snow in a quiet pine forest, its breath steaming in the cold "
    "air, soft morning light, slow tracking shot, photorealistic."
)
HTTP_ERRORS = {
    "ThrottlingException": 429,
    "ServiceUnavailableException": 503,
    "InternalServerException": 500,
    "ModelTimeoutException": 408,
    "AccessDeniedException": 403,
    "ValidationException": 400,
    "ResourceNotFoundException": 404,
}


def encode_frame(headers: dict[str, str], payload: bytes) -> bytes:
    """One event-stream message."""
    header_bytes = b"".join(_encode_header(name, value) for name, value in headers.items())
    total = 12 + len(header_bytes) + len(payload) + 4
    prelude = struct.pack(">II", total, len(header_bytes))
    prelude += struct.pack(">I", zlib.crc32(prelude) & 0xFFFFFFFF)
    message = prelude + header_bytes + payload
    return message + struct.pack(">I", zlib.crc32(message) & 0xFFFFFFFF)


def _encode_header(name: str, value: str) -> bytes:
    raw_name, raw_value = name.encode(), value.encode()
    return (
        struct.pack(">B", len(raw_name))
        + raw_name
        + struct.pack(">BH", STRING_HEADER, len(raw_value))
        + raw_value
    )


def event_frame(event_type: str, body: dict[str, Any]) -> bytes:
    headers = {":event-type": event_type, ":content-type": "application/json", ":message-type": "event"}
    return encode_frame(headers, json.dumps(body).encode())


def exception_frame(exception_type: str, message: str) -> bytes:
    headers = {
        ":exception-type": exception_type,
        ":content-type": "application/json",
        ":message-type": "exception",
    }
    return encode_frame(headers, json.dumps({"message": message}).encode())


@dataclass(frozen=True)
class Reply:
    """What the fake answers to one request."""

    text: str = DEFAULT_TEXT
    stop_reason: str = "end_turn"
    error: str = ""  # an HTTP error before any output, e.g. "ThrottlingException"
    stream_error: str = ""  # an exception event in the stream, e.g. "throttlingException"
    error_after_chunks: int = 1  # how many text chunks come before `stream_error`
    words_per_chunk: int = 4
    chunk_delay_s: float = 0.0
    # Tool use: the input the model "calls" the request's tool with (a request with a `toolConfig`
    # gets a `toolUse` block, stop reason `tool_use`); None: a shot list made from the request's shot
    # count (see `default_tool_input`).
    tool_input: dict[str, Any] | None = None

    @classmethod
    def tool(cls, tool_input: dict[str, Any]) -> Reply:
        return cls(tool_input=tool_input)

    @classmethod
    def answer(cls, text: str, **changes: Any) -> Reply:
        return cls(text=text, **changes)

    @classmethod
    def throttled(cls) -> Reply:
        return cls(error="ThrottlingException")

    @classmethod
    def failing(cls, error: str) -> Reply:
        return cls(error=error)

    @classmethod
    def guardrail(cls, text: str = "Sorry, I can't help with that request.") -> Reply:
        return cls(text=text, stop_reason="guardrail_intervened")

    @classmethod
    def broken_stream(cls, exception_type: str = "modelStreamErrorException", after_chunks: int = 1) -> Reply:
        return cls(stream_error=exception_type, error_after_chunks=after_chunks)

    def chunks(self) -> list[str]:
        words = self.text.split(" ")
        size = max(1, self.words_per_chunk)
        pieces = [" ".join(words[i : i + size]) for i in range(0, len(words), size)]
        return [piece if i == 0 else " " + piece for i, piece in enumerate(pieces)]


@dataclass(frozen=True)
class Request:
    """One request the fake received."""

    operation: str  # "converse" or "converse-stream"
    model_id: str
    body: dict[str, Any]
    headers: dict[str, str]
    at: float

    @property
    def system(self) -> str:
        return "\n".join(block.get("text", "") for block in self.body.get("system", []))

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", []))

    def texts(self, role: str) -> list[str]:
        return [
            block["text"]
            for message in self.messages
            if message.get("role") == role
            for block in message.get("content", [])
            if "text" in block
        ]

    @property
    def images(self) -> list[dict[str, Any]]:
        return [
            block["image"]
            for message in self.messages
            for block in message.get("content", [])
            if "image" in block
        ]


@dataclass
class FakeBedrock:
    """`with FakeBedrock() as bedrock:` → `bedrock.client()` is a real boto3 bedrock-runtime client."""

    default: Reply = field(default_factory=Reply)
    region: str = "us-east-1"
    # ApplyGuardrail: words that make the guardrail intervene on a text, whether it intervenes on every
    # image, the blocked message it was configured with ("" for none), and an error to answer instead.
    guardrail_blocks: tuple[str, ...] = ()
    guardrail_blocks_images: bool = False
    guardrail_message: str = "Sorry, the model cannot answer this question."
    guardrail_error: str = ""
    requests: list[Request] = field(default_factory=list)
    _script: deque[Reply] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    def start(self) -> FakeBedrock:
        self._server = _Server(("127.0.0.1", 0), _Handler, self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeBedrock:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "start the fake first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def client(self) -> Any:
        """boto3's bedrock-runtime client against this fake (dummy credentials; botocore still signs)."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            "bedrock-runtime",
            region_name=self.region,
            endpoint_url=self.url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(retries={"total_max_attempts": 1}, read_timeout=10, connect_timeout=2),
        )

    def script(self, *replies: Reply) -> None:
        """The next requests get these replies, in order; after them, `default`."""
        with self._lock:
            self._script.extend(replies)

    def next_reply(self) -> Reply:
        with self._lock:
            return self._script.popleft() if self._script else self.default

    def record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    @property
    def guardrail_requests(self) -> list[Request]:
        return [r for r in self.requests if r.operation == "apply-guardrail"]

    def guardrail_verdict(self, body: dict[str, Any]) -> dict[str, Any]:
        """ApplyGuardrail's answer to `body`, as Bedrock shapes it."""
        texts = [str(b["text"].get("text", "")) for b in body.get("content", []) if "text" in b]
        images = [b for b in body.get("content", []) if "image" in b]
        words = {w.strip(".,;:!?\"'").lower() for text in texts for w in text.split()}
        intervened = bool(words & {w.lower() for w in self.guardrail_blocks}) or (
            self.guardrail_blocks_images and bool(images)
        )
        outputs = [{"text": self.guardrail_message}] if intervened and self.guardrail_message else []
        return {
            "usage": {"topicPolicyUnits": 1, "contentPolicyUnits": 1, "wordPolicyUnits": 1},
            "action": "GUARDRAIL_INTERVENED" if intervened else "NONE",
            "outputs": outputs,
            "assessments": [],
        }


SHOT_TITLES = ("Establishing wide", "Medium shot", "Close-up", "Tracking", "Low angle", "Detail", "Aerial",
               "Closing wide")  # fmt: skip


def default_tool_input(tool_spec: dict[str, Any]) -> dict[str, Any]:
    """A storyboard that fits the tool's schema: as many shots as it asks for, one fox throughout."""
    count = tool_spec["inputSchema"]["json"]["properties"]["shots"]["minItems"]
    return {
        "shots": [
            {
                "title": SHOT_TITLES[i % len(SHOT_TITLES)],
                "prompt": f"{SHOT_TITLES[i % len(SHOT_TITLES)]}: {DEFAULT_TEXT}",
            }
            for i in range(count)
        ]
    }


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], fake: FakeBedrock):
        super().__init__(address, handler)
        self.fake = fake


def conversation_problem(body: dict[str, Any]) -> str | None:
    """What Bedrock's validation would say about the request, or None."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "The messages field is required and must not be empty."
    expected = "user"
    for message in messages:
        if message.get("role") != expected:
            return "A conversation must alternate between user and assistant roles."
        content = message.get("content")
        if not isinstance(content, list) or not content:
            return "A message must have at least one content block."
        for block in content:
            if "text" in block and not str(block["text"]).strip():
                return "The text field in the ContentBlock object is blank."
        expected = "assistant" if expected == "user" else "user"
    if messages[-1].get("role") != "user":
        return "A conversation must end with a user message."
    return None


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        parts = unquote(urlsplit(self.path).path).strip("/").split("/")
        if len(parts) == 5 and parts[0] == "guardrail" and parts[2] == "version" and parts[4] == "apply":
            self._apply_guardrail(parts[1], parts[3], raw)
            return
        if len(parts) != 3 or parts[0] != "model" or parts[2] not in ("converse", "converse-stream"):
            self._error(404, "UnknownOperationException", "Unknown operation.")
            return
        _, model_id, operation = parts
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            self._error(400, "ValidationException", "Malformed JSON.")
            return
        fake = self.server.fake
        fake.record(Request(operation, model_id, body, dict(self.headers.items()), time.time()))
        problem = conversation_problem(body)
        if problem:
            self._error(400, "ValidationException", problem)
            return
        reply = fake.next_reply()
        if reply.error:
            self._error(HTTP_ERRORS.get(reply.error, 500), reply.error, f"{reply.error} (scripted)")
        elif operation == "converse" and body.get("toolConfig"):
            self._converse_tool_use(reply, body["toolConfig"])
        elif operation == "converse":
            self._converse(reply)
        else:
            self._converse_stream(reply)

    def _apply_guardrail(self, guardrail_id: str, version: str, raw: bytes) -> None:
        fake = self.server.fake
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            self._error(400, "ValidationException", "Malformed JSON.")
            return
        name = f"{guardrail_id}:{version}"
        fake.record(Request("apply-guardrail", name, body, dict(self.headers.items()), time.time()))
        if body.get("source") not in ("INPUT", "OUTPUT") or not body.get("content"):
            self._error(400, "ValidationException", "source and content are required.")
        elif fake.guardrail_error:
            error = fake.guardrail_error
            self._error(HTTP_ERRORS.get(error, 500), error, f"{error} (scripted)")
        else:
            self._send(200, "application/json", json.dumps(fake.guardrail_verdict(body)).encode())

    def _send(
        self, status: int, content_type: str, body: bytes, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-amzn-RequestId", "fake-" + str(time.time_ns()))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status: int, error_type: str, message: str) -> None:
        body = json.dumps({"message": message}).encode()
        self._send(status, "application/json", body, {"x-amzn-ErrorType": f"{error_type}:http://internal"})

    def _converse(self, reply: Reply) -> None:
        answer = {
            "output": {"message": {"role": "assistant", "content": [{"text": reply.text}]}},
            "stopReason": reply.stop_reason,
            "usage": {"inputTokens": 100, "outputTokens": len(reply.text.split()), "totalTokens": 150},
            "metrics": {"latencyMs": 5},
        }
        self._send(200, "application/json", json.dumps(answer).encode())

    def _converse_tool_use(self, reply: Reply, tool_config: dict[str, Any]) -> None:
        """Converse's answer when the model calls a tool, as Bedrock documents it: the assistant's
        message holds a `toolUse` block (toolUseId, name, input) and the stop reason is `tool_use`."""
        spec = tool_config["tools"][0]["toolSpec"]
        tool_input = reply.tool_input if reply.tool_input is not None else default_tool_input(spec)
        use = {"toolUseId": f"tooluse_{time.time_ns()}", "name": spec["name"], "input": tool_input}
        answer = {
            "output": {"message": {"role": "assistant", "content": [{"toolUse": use}]}},
            "stopReason": "tool_use",
            "usage": {"inputTokens": 100, "outputTokens": 200, "totalTokens": 300},
            "metrics": {"latencyMs": 5},
        }
        self._send(200, "application/json", json.dumps(answer).encode())

    def _converse_stream(self, reply: Reply) -> None:
        self.send_response(200)
        self.send_header("Content-Type", EVENT_STREAM)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("x-amzn-RequestId", "fake-" + str(time.time_ns()))
        self.end_headers()
        self._chunk(event_frame("messageStart", {"role": "assistant"}))
        for index, piece in enumerate(reply.chunks()):
            if reply.stream_error and index >= reply.error_after_chunks:
                self._chunk(exception_frame(reply.stream_error, f"{reply.stream_error} (scripted)"))
                self._end()
                return
            if reply.chunk_delay_s:
                time.sleep(reply.chunk_delay_s)
            self._chunk(event_frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": piece}}))
        self._chunk(event_frame("contentBlockStop", {"contentBlockIndex": 0}))
        self._chunk(event_frame("messageStop", {"stopReason": reply.stop_reason}))
        usage = {"inputTokens": 100, "outputTokens": len(reply.text.split()), "totalTokens": 150}
        self._chunk(event_frame("metadata", {"usage": usage, "metrics": {"latencyMs": 5}}))
        self._end()

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _end(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
