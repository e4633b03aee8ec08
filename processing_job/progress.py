"""Progress of one render: events, and the sinks that carry them out of the job.

A render reports its phases (loading → encoding → denoising → decoding → writing → done) and each
denoising step. Where the events go is the sink's business: nowhere (`NullSink`), a Python callable
(`CallbackSink`, in-process), JSON lines on a file descriptor (`JsonLinesSink`, for a parent
process reading a pipe: the local runner), or Amazon EventBridge (`EventBridgeSink`, in SageMaker,
where the bot's job-events function hears them).

A progress report is never worth a failed render, nor a slower one: `ProgressReporter` catches and
logs whatever a sink raises, the sinks swallow their I/O errors, and the EventBridge sink sends from
a background thread so the denoising loop never waits on the network.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Protocol

log = logging.getLogger(__name__)

PROGRESS_FD_ENV = "VIDEOBOT_PROGRESS_FD"
PROGRESS_INTERVAL_ENV = "VIDEOBOT_PROGRESS_INTERVAL_S"
PROGRESS_ENV = "VIDEOBOT_PROGRESS"  # "eventbridge": put events on EventBridge (set by the job definition)
EVENT_BUS_ENV = "VIDEOBOT_EVENT_BUS"
DEFAULT_EVENT_BUS = "default"
DEFAULT_INTERVAL_S = 1.0
# Each event becomes a Slack message edit: every few seconds is plenty, and well under Slack's limits.
DEFAULT_EVENTBRIDGE_INTERVAL_S = 3.0
# What bot/jobs/messages.py listens for.
EVENT_SOURCE = "videobot.render"
EVENT_DETAIL_TYPE = "Render Progress"

LOADING = "loading"
ENCODING = "encoding"
DENOISING = "denoising"
DECODING = "decoding"
WRITING = "writing"
DONE = "done"
PHASES = (LOADING, ENCODING, DENOISING, DECODING, WRITING, DONE)


@dataclass(frozen=True)
class ProgressEvent:
    """One report. `step`/`total` count denoising steps (step k of N, after step k finished);
    in the other phases both are 0. `elapsed_s` is the time since the job started."""

    job_id: str
    phase: str
    step: int
    total: int
    elapsed_s: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ProgressEvent:
        """Parse an event read back from a JSON line; ValueError if it isn't one."""
        try:
            event = cls(
                job_id=str(data["job_id"]),
                phase=str(data["phase"]),
                step=int(data["step"]),
                total=int(data["total"]),
                elapsed_s=float(data["elapsed_s"]),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"Not a progress event: {data!r} ({error})") from None
        if event.phase not in PHASES:
            raise ValueError(f"Unknown progress phase {event.phase!r}.")
        return event

    @property
    def fraction(self) -> float:
        """How far the denoising is, 0..1 (the part of a render that takes the time)."""
        if self.phase in (DECODING, WRITING, DONE):
            return 1.0
        if self.phase == DENOISING and self.total > 0:
            return min(1.0, self.step / self.total)
        return 0.0


class RenderCancelled(Exception):
    """Raised by a sink to stop the render it reports on (a warm job's Cancel); the one exception
    `ProgressReporter` lets through, so it leaves the denoising loop at the next step."""


class ProgressSink(Protocol):
    def emit(self, event: ProgressEvent) -> None: ...


class NullSink:
    def emit(self, event: ProgressEvent) -> None:
        pass


class CallbackSink:
    """Hands each event to `fn` (in the render's thread: keep it quick)."""

    def __init__(self, fn: Callable[[ProgressEvent], object]) -> None:
        self._fn = fn

    def emit(self, event: ProgressEvent) -> None:
        self._fn(event)


class JsonLinesSink:
    """Writes one JSON object per line to an open file descriptor, unbuffered.

    The descriptor belongs to whoever opened it (usually the parent's pipe): it is never closed
    here. After the first write error (the reader went away) the sink goes quiet.
    """

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._broken = False

    def emit(self, event: ProgressEvent) -> None:
        if self._broken:
            return
        # Lines stay far below PIPE_BUF (4 KB), so each write reaches a pipe whole.
        data = (json.dumps(event.to_dict(), separators=(",", ":")) + "\n").encode()
        try:
            while data:
                written = os.write(self._fd, data)
                data = data[written:]
        except OSError as error:
            self._broken = True
            log.warning("Progress sink on fd %d stopped: %s", self._fd, error)


class ThrottledSink:
    """Passes on at most one denoising event per `min_interval_s`, but always the first and last
    step and every event of another phase (a phase change is news; step 17 of 50 rarely is)."""

    def __init__(
        self,
        inner: ProgressSink,
        min_interval_s: float = DEFAULT_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.inner = inner
        self._interval = min_interval_s
        self._clock = clock
        self._last_phase: str | None = None
        self._last_sent: float | None = None

    def emit(self, event: ProgressEvent) -> None:
        now = self._clock()
        if event.phase == DENOISING and event.phase == self._last_phase:
            edge = event.step <= 1 or event.step >= event.total
            due = self._last_sent is None or now - self._last_sent >= self._interval
            if not (edge or due):
                return
        self._last_phase = event.phase
        self._last_sent = now
        self.inner.emit(event)

    def close(self) -> None:
        close = getattr(self.inner, "close", None)
        if close is not None:
            close()


class ProgressReporter:
    """What the render loop talks to: builds events with the elapsed time and never raises."""

    def __init__(self, sink: ProgressSink, job_id: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.sink = sink
        self.job_id = job_id
        self._clock = clock
        self._start = clock()

    def phase(self, phase: str) -> None:
        self._emit(phase, 0, 0)

    def step(self, step: int, total: int) -> None:
        self._emit(DENOISING, step, total)

    def _emit(self, phase: str, step: int, total: int) -> None:
        event = ProgressEvent(self.job_id, phase, step, total, round(self._clock() - self._start, 3))
        try:
            self.sink.emit(event)
        except RenderCancelled:
            raise
        except Exception:
            log.exception("A progress sink failed on %s; the render goes on.", event)


class EventBridgeSink:
    """Puts each event on an EventBridge bus as `Source=videobot.render`, `DetailType=Render Progress`,
    `Detail={job_id, phase, step, total, elapsed_s}`, from a background thread.

    `emit` only queues (never blocks, never raises); when the queue is full the oldest event gives way
    (the newest is the news). boto3 is imported and the client made in the thread, lazily, so neither
    slows the job's start. `close` sends what is queued, waiting at most `close_timeout_s`.
    """

    def __init__(
        self,
        bus_name: str = DEFAULT_EVENT_BUS,
        *,
        client: Any = None,
        max_queued: int = 64,
        close_timeout_s: float = 10.0,
    ) -> None:
        self.bus_name = bus_name
        self._client = client
        self._queue: queue.Queue[ProgressEvent | None] = queue.Queue(maxsize=max_queued)
        self._close_timeout_s = close_timeout_s
        self._closed = False
        self.sent = 0
        self.failed = 0
        self._thread = threading.Thread(target=self._run, name="progress-eventbridge", daemon=True)
        self._thread.start()

    def emit(self, event: ProgressEvent) -> None:
        if self._closed:
            return
        while True:
            try:
                self._queue.put_nowait(event)
                return
            except queue.Full:
                with contextlib.suppress(queue.Empty):
                    self._queue.get_nowait()  # drop the oldest

    def close(self) -> None:
        """Flush and stop; bounded by `close_timeout_s` (a job must not hang on its progress)."""
        if self._closed:
            return
        self._closed = True
        deadline = time.monotonic() + self._close_timeout_s
        while True:
            try:
                self._queue.put(None, timeout=max(0.0, deadline - time.monotonic()))
                break
            except queue.Full:
                if time.monotonic() >= deadline:
                    break
        self._thread.join(timeout=max(0.0, deadline - time.monotonic()))
        if self._thread.is_alive():
            log.warning("Progress events still unsent after %.0f s; leaving them.", self._close_timeout_s)

    def _run(self) -> None:
        while True:
            event = self._queue.get()
            if event is None:
                return
            self._put(event)

    def _put(self, event: ProgressEvent) -> None:
        entry = {
            "Source": EVENT_SOURCE,
            "DetailType": EVENT_DETAIL_TYPE,
            "Detail": json.dumps(event.to_dict(), separators=(",", ":")),
            "EventBusName": self.bus_name,
        }
        try:
            if self._client is None:
                import boto3  # here, in the sender's thread: the render never waits for it

                self._client = boto3.client("events")
            response = self._client.put_events(Entries=[entry])
            if response.get("FailedEntryCount"):
                self.failed += 1
                code = response["Entries"][0].get("ErrorCode")
                log.warning("EventBridge refused a progress event (%s): %s", code, event)
            else:
                self.sent += 1
        except Exception as error:  # progress is optional: log and go on
            self.failed += 1
            log.warning("Could not put a progress event on EventBridge: %s", error)


def sink_from_env(env: Mapping[str, str] | None = None) -> ProgressSink:
    """The sink the job's environment asks for, throttled to `VIDEOBOT_PROGRESS_INTERVAL_S`:

    - `VIDEOBOT_PROGRESS=eventbridge`: EventBridge, on the bus `VIDEOBOT_EVENT_BUS` (default
      "default"), every 3 s by default;
    - else `VIDEOBOT_PROGRESS_FD=<fd>`: JSON lines on that descriptor, every 1 s by default;
    - else nothing.

    A malformed setting is logged and ignored: progress is optional, the video is not.
    """
    env = os.environ if env is None else env
    kind = env.get(PROGRESS_ENV, "").strip().lower()
    if kind == "eventbridge":
        bus = env.get(EVENT_BUS_ENV, "").strip() or DEFAULT_EVENT_BUS
        interval = _interval(env, DEFAULT_EVENTBRIDGE_INTERVAL_S)
        return ThrottledSink(EventBridgeSink(bus), interval)
    if kind and kind != "fd":
        log.warning("Ignoring %s=%r: expected 'eventbridge'", PROGRESS_ENV, kind)
    raw_fd = env.get(PROGRESS_FD_ENV, "").strip()
    if not raw_fd:
        return NullSink()
    try:
        fd = int(raw_fd)
        os.fstat(fd)
    except (ValueError, OSError) as error:
        log.warning("Ignoring %s=%r: %s", PROGRESS_FD_ENV, raw_fd, error)
        return NullSink()
    return ThrottledSink(JsonLinesSink(fd), _interval(env, DEFAULT_INTERVAL_S))


def _interval(env: Mapping[str, str], default: float) -> float:
    raw = env.get(PROGRESS_INTERVAL_ENV, "").strip()
    try:
        interval = float(raw) if raw else default
    except ValueError:
        log.warning("Ignoring %s=%r: not a number", PROGRESS_INTERVAL_ENV, raw)
        interval = default
    return max(0.0, interval)
