"""Progress of one render: events, and the sinks that carry them out of the job.

A render reports its phases (loading → encoding → denoising → decoding → writing → done) and each
denoising step. Where the events go is the sink's business: nowhere (`NullSink`), a Python callable
(`CallbackSink`, in-process), or JSON lines on a file descriptor (`JsonLinesSink`, for a parent
process reading a pipe). An EventBridge sink for SageMaker plugs into the same `ProgressSink`
protocol and `sink_from_env`.

A progress report is never worth a failed render: `ProgressReporter` catches and logs whatever a
sink raises, and the sinks themselves swallow their I/O errors.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Protocol

log = logging.getLogger(__name__)

PROGRESS_FD_ENV = "VIDEOBOT_PROGRESS_FD"
PROGRESS_INTERVAL_ENV = "VIDEOBOT_PROGRESS_INTERVAL_S"
DEFAULT_INTERVAL_S = 1.0

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
        except Exception:
            log.exception("A progress sink failed on %s; the render goes on.", event)


def sink_from_env(env: Mapping[str, str] | None = None) -> ProgressSink:
    """The sink the job's environment asks for: JSON lines on `VIDEOBOT_PROGRESS_FD` (throttled to
    `VIDEOBOT_PROGRESS_INTERVAL_S`, default 1 s), else nothing.

    A malformed setting is logged and ignored: progress is optional, the video is not.
    """
    env = os.environ if env is None else env
    raw_fd = env.get(PROGRESS_FD_ENV, "").strip()
    if not raw_fd:
        return NullSink()
    try:
        fd = int(raw_fd)
        os.fstat(fd)
    except (ValueError, OSError) as error:
        log.warning("Ignoring %s=%r: %s", PROGRESS_FD_ENV, raw_fd, error)
        return NullSink()
    raw_interval = env.get(PROGRESS_INTERVAL_ENV, "").strip()
    try:
        interval = float(raw_interval) if raw_interval else DEFAULT_INTERVAL_S
    except ValueError:
        log.warning("Ignoring %s=%r: not a number", PROGRESS_INTERVAL_ENV, raw_interval)
        interval = DEFAULT_INTERVAL_S
    return ThrottledSink(JsonLinesSink(fd), max(0.0, interval))
