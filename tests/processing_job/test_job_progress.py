"""Progress reaches its sink as events (a callback, a pipe, EventBridge), throttled, and never breaks
or slows a render."""

from __future__ import annotations

import json
import os
import socket
import threading

import pytest

from processing_job import inference
from processing_job.export import probe_video
from processing_job.progress import (
    CallbackSink,
    EventBridgeSink,
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


# EventBridge, in AWS: moto's EventBridge on 127.0.0.1 delivers to an SQS queue through a rule, which
# is how these tests read what the job put on the bus.


@pytest.fixture
def progress_queue(aws):
    """An SQS queue that receives every `videobot.render` event put on the default bus."""
    import boto3

    sqs, events = boto3.client("sqs"), boto3.client("events")
    url = sqs.create_queue(QueueName="render-progress")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="render-progress", EventPattern=json.dumps({"source": ["videobot.render"]}))
    events.put_targets(Rule="render-progress", Targets=[{"Id": "queue", "Arn": arn}])

    def received(expected: int) -> list[dict]:
        bodies: list[dict] = []
        for _ in range(10):
            reply = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            bodies += [json.loads(m["Body"]) for m in reply.get("Messages", [])]
            if len(bodies) >= expected:
                break
        return bodies

    return received


def test_progress_reaches_eventbridge_in_the_shape_the_bot_reads(progress_queue):
    from bot.jobs.messages import JobProgress, parse_job_event

    sink = EventBridgeSink("default")
    sink.emit(ProgressEvent("job-7", "denoising", 3, 50, 12.5))
    sink.emit(ProgressEvent("job-7", "decoding", 0, 0, 30.0))
    sink.close()
    events = progress_queue(2)
    assert [(e["source"], e["detail-type"]) for e in events] == [("videobot.render", "Render Progress")] * 2
    assert [parse_job_event(e) for e in events] == [
        JobProgress("job-7", "denoising", 3, 50, 12.5),
        JobProgress("job-7", "decoding", 0, 0, 30.0),
    ]
    assert (sink.sent, sink.failed) == (2, 0)


def test_a_job_in_aws_puts_its_phases_on_the_bus(progress_queue, make_job, make_spec, monkeypatch):
    monkeypatch.setenv("VIDEOBOT_PROGRESS", "eventbridge")
    monkeypatch.setenv("VIDEOBOT_PROGRESS_INTERVAL_S", "0")
    paths = make_job(make_spec())
    assert inference.main(paths) == 0
    phases = [e["detail"]["phase"] for e in progress_queue(8)]
    assert phases[:2] == ["loading", "encoding"] and phases[-3:] == ["decoding", "writing", "done"]
    assert phases.count("denoising") == 3  # steps 0, 1 and 2 of 2


def test_the_environment_selects_eventbridge_on_its_bus_throttled():
    sink = sink_from_env({"VIDEOBOT_PROGRESS": "eventbridge", "VIDEOBOT_EVENT_BUS": "videobot"})
    try:
        assert isinstance(sink, ThrottledSink) and isinstance(sink.inner, EventBridgeSink)
        assert sink.inner.bus_name == "videobot"
    finally:
        sink.close()
    default = sink_from_env({"VIDEOBOT_PROGRESS": "eventbridge"})
    default.close()
    assert default.inner.bus_name == "default"


class StuckEventBridge:
    """EventBridge that doesn't answer until told to (a slow network)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.entries: list[dict] = []

    def put_events(self, Entries):
        self.release.wait(timeout=30)
        self.entries += Entries
        return {"FailedEntryCount": 0, "Entries": [{"EventId": "1"}]}


def test_a_stuck_network_never_holds_up_the_render():
    client = StuckEventBridge()
    sink = EventBridgeSink("default", client=client, max_queued=8)
    for step in range(1, 501):  # the render goes on, step after step, while nothing gets through
        sink.emit(ProgressEvent("j", "denoising", step, 500, step / 10))
    client.release.set()
    sink.close()
    sent = [json.loads(e["Detail"])["step"] for e in client.entries]
    assert len(sent) <= 9 and sent[-1] == 500  # the backlog stays bounded; the newest news gets out


def test_an_unreachable_eventbridge_does_not_fail_the_job(make_job, make_spec, monkeypatch):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # nothing listens here once the socket is closed
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("VIDEOBOT_PROGRESS", "eventbridge")
    paths = make_job(make_spec())
    assert inference.main(paths) == 0
    assert probe_video(paths.video_file).frames == 9
