"""Progress reaches its sink as events, throttled, and never breaks a render."""

from __future__ import annotations

import json
import os

import pytest

from processing_job.progress import (
    CallbackSink,
    JsonLinesSink,
    NullSink,
    ProgressEvent,
    ProgressReporter,
    ThrottledSink,
    sink_from_env,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_json_lines_on_a_pipe_read_back_as_events():
    read_end, write_end = os.pipe()
    try:
        sink = JsonLinesSink(write_end)
        sink.emit(ProgressEvent("job-1", "denoising", 3, 50, 12.5))
        sink.emit(ProgressEvent("job-1", "done", 0, 0, 20.0))
        lines = os.read(read_end, 4096).decode().splitlines()
    finally:
        os.close(read_end)
        os.close(write_end)
    events = [ProgressEvent.from_dict(json.loads(line)) for line in lines]
    assert events == [
        ProgressEvent("job-1", "denoising", 3, 50, 12.5),
        ProgressEvent("job-1", "done", 0, 0, 20.0),
    ]


def test_a_reader_that_went_away_does_not_raise():
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        sink = JsonLinesSink(write_end)
        sink.emit(ProgressEvent("job-1", "loading", 0, 0, 0.0))
        sink.emit(ProgressEvent("job-1", "encoding", 0, 0, 0.1))
    finally:
        os.close(write_end)


def test_throttling_keeps_first_and_last_steps_and_every_phase_change():
    clock, seen = FakeClock(), []
    sink = ThrottledSink(CallbackSink(seen.append), min_interval_s=1.0, clock=clock)
    sink.emit(ProgressEvent("j", "encoding", 0, 0, 0))
    for step in range(0, 11):
        clock.now = step * 0.3
        sink.emit(ProgressEvent("j", "denoising", step, 10, clock.now))
    sink.emit(ProgressEvent("j", "decoding", 0, 0, clock.now))
    kept = [(e.phase, e.step) for e in seen]
    assert kept == [
        ("encoding", 0),
        ("denoising", 0),
        ("denoising", 1),
        ("denoising", 5),  # 1.5 s: the first step a second after step 1 (0.3 s)
        ("denoising", 9),  # 2.7 s
        ("denoising", 10),  # the last step always
        ("decoding", 0),
    ]


def test_a_failing_sink_is_logged_and_the_render_goes_on(caplog):
    def explode(event: ProgressEvent) -> None:
        raise RuntimeError("Slack is down")

    reporter = ProgressReporter(CallbackSink(explode), "job-1")
    reporter.phase("loading")
    reporter.step(1, 4)
    assert "render goes on" in caplog.text


def test_without_a_progress_fd_nothing_is_sent():
    assert isinstance(sink_from_env({}), NullSink)


@pytest.mark.parametrize("value", ["not-a-number", "987654"])
def test_a_bad_progress_fd_is_ignored(value):
    assert isinstance(sink_from_env({"VIDEOBOT_PROGRESS_FD": value}), NullSink)


def test_a_progress_fd_gives_throttled_json_lines():
    read_end, write_end = os.pipe()
    try:
        sink = sink_from_env({"VIDEOBOT_PROGRESS_FD": str(write_end), "VIDEOBOT_PROGRESS_INTERVAL_S": "5"})
        assert isinstance(sink, ThrottledSink) and isinstance(sink.inner, JsonLinesSink)
    finally:
        os.close(read_end)
        os.close(write_end)


def test_events_say_how_far_the_render_is():
    assert ProgressEvent("j", "loading", 0, 0, 0).fraction == 0.0
    assert ProgressEvent("j", "denoising", 25, 50, 0).fraction == 0.5
    assert ProgressEvent("j", "writing", 0, 0, 0).fraction == 1.0
    with pytest.raises(ValueError):
        ProgressEvent.from_dict({"job_id": "j", "phase": "dreaming", "step": 0, "total": 0, "elapsed_s": 0})
