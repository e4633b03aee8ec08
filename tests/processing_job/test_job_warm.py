"""A warm job takes the next queued renders of its model with the pipeline still loaded, reports each
render's end on its own, survives a failing render, honours Cancel, exits when idle or out of budget;
and a job reads its staged weights with parallel ranged GETs. Against moto's S3 and EventBridge on
127.0.0.1, with the real tiny pipeline."""

from __future__ import annotations

import json
import os

import pytest

from bot.jobs.messages import JobStateChange, parse_job_event
from processing_job.inference import PipelineCache
from processing_job.paths import JobPaths
from processing_job.progress import NullSink
from processing_job.warm import HostBeat, StateReporter, WarmJob, WorkQueue, default_render
from processing_job.weights import STAGED_MANIFEST, download_prefix

BUCKET = "warm-bucket"
POOL = "tiny--ml.m5.xlarge"


@pytest.fixture
def s3(aws):
    import boto3

    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    return client


@pytest.fixture
def render_states(aws):
    """Every `Render State Change` put on the default bus, read back through an SQS queue."""
    import boto3

    sqs, events = boto3.client("sqs"), boto3.client("events")
    url = sqs.create_queue(QueueName="render-states")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pattern = {"source": ["videobot.render"], "detail-type": ["Render State Change"]}
    events.put_rule(Name="render-states", EventPattern=json.dumps(pattern))
    events.put_targets(Rule="render-states", Targets=[{"Id": "queue", "Arn": arn}])

    def received() -> list[JobStateChange]:
        found: list[JobStateChange] = []
        while True:
            reply = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            messages = reply.get("Messages", [])
            if not messages:
                return found
            found += [parse_job_event(json.loads(m["Body"])) for m in messages]

    return received


@pytest.fixture
def warm_job(s3, tmp_path):
    queue = WorkQueue(s3, BUCKET)
    pipelines = PipelineCache()

    def make(**changes) -> WarmJob:
        values = {
            "queue": queue,
            "states": StateReporter(queue, "default", "host-1"),
            "pool": POOL,
            "host": "host-1",
            "root": tmp_path / "warm",
            "model_dir": tmp_path / "model",
            "sink": NullSink(),
            "render": default_render(pipelines),
            "idle_s": 0.0,
            "budget_s": 3600.0,
            "poll_s": 0.01,
        }
        values.update(changes)
        job = WarmJob(**values)
        job.pipelines = pipelines
        return job

    return make


def offer(s3, spec, at_ms: int) -> None:
    """What the bot does to hand a render to the warm jobs: its spec under specs/, an entry in line."""
    s3.put_object(Bucket=BUCKET, Key=f"specs/{spec.job_id}/spec.json", Body=spec.to_json().encode())
    WorkQueue(s3, BUCKET).offer(POOL, spec.job_id, at_ms)


def test_a_warm_job_takes_the_next_render_with_the_model_still_loaded(
    warm_job, make_job, make_spec, s3, render_states
):
    first = make_job(make_spec(job_id="render-1"))
    offer(s3, make_spec(job_id="render-2", seed=7), 1)
    job = warm_job()
    outcomes = job.run(first)
    assert [(o.render, o.status) for o in outcomes] == [("render-1", "Completed"), ("render-2", "Completed")]
    assert job.pipelines.loads == 1
    for render in ("render-1", "render-2"):
        result = json.loads(s3.get_object(Bucket=BUCKET, Key=f"renders/{render}/result.json")["Body"].read())
        assert result["job_id"] == render
        s3.head_object(Bucket=BUCKET, Key=f"renders/{render}/video.mp4")
    second = json.loads(s3.get_object(Bucket=BUCKET, Key="renders/render-2/result.json")["Body"].read())
    assert second["pipeline"] == {"reused": True, "loads_in_job": 1}
    assert second["timings_s"]["model_load"] < 0.01
    ends = [s for s in render_states() if s.status != "InProgress"]
    assert sorted((s.job_id, s.status) for s in ends) == [
        ("render-1", "Completed"),
        ("render-2", "Completed"),
    ]
    assert WorkQueue(s3, BUCKET).waiting(POOL) == []


def test_a_failing_render_does_not_end_the_job_or_lose_the_next(
    warm_job, make_job, make_spec, s3, render_states
):
    broken = make_spec(job_id="render-bad", image="picture.png", model="tiny-i2v", height=128, width=192)
    offer(s3, broken, 1)  # its picture was never staged
    offer(s3, make_spec(job_id="render-good"), 2)
    outcomes = warm_job().run()
    assert [(o.render, o.status) for o in outcomes] == [
        ("render-bad", "Failed"),
        ("render-good", "Completed"),
    ]
    ends = {s.job_id: s for s in render_states() if s.status != "InProgress"}
    assert ends["render-bad"].status == "Failed"
    assert "picture" in ends["render-bad"].exit_message.lower()
    assert ends["render-good"].status == "Completed"


def test_cancel_stops_that_render_only(warm_job, make_spec, s3, render_states):
    offer(s3, make_spec(job_id="render-cancelled", num_inference_steps=30), 1)
    offer(s3, make_spec(job_id="render-kept"), 2)
    WorkQueue(s3, BUCKET).cancel("render-cancelled")
    outcomes = warm_job().run()
    assert [(o.render, o.status) for o in outcomes] == [
        ("render-cancelled", "Stopped"),
        ("render-kept", "Completed"),
    ]
    ends = {s.job_id: s.status for s in render_states() if s.status != "InProgress"}
    assert ends == {"render-cancelled": "Stopped", "render-kept": "Completed"}


def test_an_idle_job_waits_its_window_then_exits_and_leaves_the_pool(warm_job, s3):
    queue = WorkQueue(s3, BUCKET)
    seen: list[list[HostBeat]] = []
    job = warm_job(idle_s=0.3, sleep=lambda s: (seen.append(queue.hosts(POOL)), __import__("time").sleep(s)))
    job.run()
    assert job.exit_reason == "idle"
    assert seen and seen[0][0].state == "idle"  # while it waited, the bot could see it was free
    assert queue.hosts(POOL) == []


def test_the_cost_cap_refuses_a_render_that_would_cross_it(warm_job, make_job, make_spec, s3, render_states):
    offer(s3, make_spec(job_id="render-waiting"), 1)
    job = warm_job(budget_s=0.0)  # whatever the first render took, a second would cross the budget
    outcomes = job.run(make_job(make_spec(job_id="render-1")))
    assert [o.render for o in outcomes] == ["render-1"]
    assert job.exit_reason == "budget"
    queue = WorkQueue(s3, BUCKET)
    assert [render for _, render in queue.waiting(POOL)] == ["render-waiting"]  # left for a new job
    assert queue.claimed_by("render-waiting") is None


def test_a_claim_is_won_once(s3):
    queue = WorkQueue(s3, BUCKET)
    assert queue.claim("render-1", "host-1") is True
    assert queue.claim("render-1", "launcher") is False
    assert queue.claimed_by("render-1") == "host-1"


def test_parallel_ranged_reads_make_byte_identical_files(s3, tmp_path):
    files = {
        "model_index.json": b'{"_class_name": "CogVideoXPipeline"}',
        "transformer/diffusion_pytorch_model.safetensors": os.urandom(10_007),
        "vae/diffusion_pytorch_model.safetensors": os.urandom(3_000),
        "empty.txt": b"",
        STAGED_MANIFEST: b"{}",
    }
    for name, data in files.items():
        s3.put_object(Bucket=BUCKET, Key=f"models/tiny/{name}", Body=data)
    folder = tmp_path / "model"
    report = download_prefix(s3, BUCKET, "models/tiny/", folder, part_bytes=1_000, readers=8)
    assert {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()} == files
    assert report.bytes == sum(len(d) for n, d in files.items() if n != STAGED_MANIFEST)
    assert report.parts == 1 + 11 + 3  # model_index, 11 parts of the transformer, 3 of the VAE


def test_a_job_reads_its_staged_weights_itself_and_times_the_wait(
    s3, make_job, make_spec, model_cache, monkeypatch
):
    from processing_job import inference

    for path in (model_cache / "tiny").rglob("*"):
        if path.is_file():
            key = f"models/tiny/{path.relative_to(model_cache / 'tiny')}"
            s3.put_object(Bucket=BUCKET, Key=key, Body=path.read_bytes())
    monkeypatch.setenv("VIDEOBOT_WEIGHTS_S3", f"s3://{BUCKET}/models/tiny/")
    paths: JobPaths = make_job(make_spec())
    assert inference.main(paths) == 0
    result = json.loads(paths.result_file.read_text())
    assert result["weights"]["source"] == "staged"
    assert result["weights"]["read"]["files"] >= 5
    assert "weights_wait" in result["timings_s"] and "model_load" in result["timings_s"]


def test_the_container_entry_runs_warm_when_the_launcher_asks(s3, make_job, make_spec, monkeypatch, tmp_path):
    from processing_job.warm import warm_entry

    assert warm_entry({}) is None  # no warm settings: one render, as before
    paths = make_job(make_spec(job_id="render-first"))
    offer(s3, make_spec(job_id="render-next"), 1)
    env = {
        **os.environ,
        **paths.env(),
        "VIDEOBOT_WARM_IDLE_S": "0.2",
        "VIDEOBOT_WARM_BUCKET": BUCKET,
        "VIDEOBOT_WARM_POOL": POOL,
        "VIDEOBOT_WARM_HOST": "render-first",
        "VIDEOBOT_WARM_BUDGET_S": "3000",
        "VIDEOBOT_WARM_POLL_S": "0.05",
    }
    assert warm_entry(env) == 0
    for render in ("render-first", "render-next"):
        s3.head_object(Bucket=BUCKET, Key=f"renders/{render}/video.mp4")
        assert WorkQueue(s3, BUCKET).outcome(render)["status"] == "Completed"
