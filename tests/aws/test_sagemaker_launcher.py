"""The SageMaker launcher on its own, against moto's server: what it asks SageMaker, and what it does
with SageMaker's answers (moto never refuses, so refusals are SageMaker's own error answers, sent
back to botocore at the HTTP layer)."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config

from bot.adapters.blobs.s3 import S3BlobStore
from bot.adapters.store.dynamodb import DynamoDbSessionStore
from bot.conversation.sessions import DraftOptions, new_draft, plan_job, set_draft, start_session
from bot.jobs.capacity import CapacityQueue
from bot.jobs.launchers.sagemaker import SageMakerJobLauncher
from bot.runtime.aws_settings import AwsSettings, instance_type_for, instance_types_in_use
from processing_job.models import REGISTRY
from processing_job.weights import STAGED_MANIFEST
from tests.aws.conftest import JOB_IMAGE, FakeBody
from tests.fakes.aws_lambda import BUCKET, JOB_ROLE, TABLE


def refuse(client, code, times=1):
    left = {"n": times}

    def answer(request, **_):
        if left["n"] <= 0:
            return None
        left["n"] -= 1
        body = json.dumps({"__type": code, "message": code}).encode()
        return AWSResponse(request.url, 400, {"Content-Type": "application/x-amz-json-1.1"}, FakeBody(body))

    client.meta.events.register("before-send.sagemaker.CreateProcessingJob", answer)


def make_launcher(resources, **settings_changes):
    reports = []
    store = DynamoDbSessionStore(TABLE, resources.dynamodb)
    settings = AwsSettings(
        table=TABLE,
        bucket=BUCKET,
        slack_secret_arn=resources.secret_arn,
        job_image_uri=JOB_IMAGE,
        job_role_arn=JOB_ROLE,
        capacity_queue_url=resources.queue_url,
        **settings_changes,
    )
    launcher = SageMakerJobLauncher(
        settings=settings,
        client=boto3.client(
            "sagemaker", config=Config(retries={"mode": "standard", "total_max_attempts": 1})
        ),
        blobs=S3BlobStore(BUCKET, resources.s3),
        queue=CapacityQueue(resources.queue_url, resources.sqs, first_delay_s=0),
        store=store,
        report=reports.append,
    )
    launcher.reports = reports
    return launcher


@pytest.fixture
def launcher(resources):
    return make_launcher(resources)


def stage(resources, model_key):
    """What `make stage-model` leaves last: the manifest beside the weights."""
    resources.s3.put_object(Bucket=BUCKET, Key=f"models/{model_key}/{STAGED_MANIFEST}", Body=b"{}")


def a_job(store, model="2b"):
    session = start_session(channel="C1", thread_ts="1.000001", owner="U1", idea="a fox", now=0)
    draft = new_draft(DraftOptions(model=model), prompt="A fox.", default_model="2b", seed=1, refined_by="x")
    return store.create_job(plan_job(set_draft(session, draft, now=1), user="U1", admins=frozenset(), now=2))


def test_a_throttled_launch_waits_in_the_capacity_queue(launcher, resources):
    job = a_job(launcher.store)
    refuse(launcher.client, "ThrottlingException")
    launch = launcher.launch(job, job.job_spec)
    assert (launch.state, launch.queue_position) == ("queued", 1)
    [message] = resources.sqs.receive_message(QueueUrl=resources.queue_url)["Messages"]
    assert json.loads(message["Body"]) == {"job_id": job.job_id}


def test_a_launch_sagemaker_already_has_counts_as_started(launcher):
    job = a_job(launcher.store)
    refuse(launcher.client, "ResourceInUse")  # real SageMaker refuses a second job of the same name
    assert launcher.launch(job, job.job_spec).state == "started"


def test_any_other_refusal_is_raised_for_the_conversation_to_explain(launcher):
    job = a_job(launcher.store)
    refuse(launcher.client, "ValidationException")
    with pytest.raises(Exception, match="ValidationException"):
        launcher.launch(job, job.job_spec)


def test_sagemaker_knows_nothing_of_a_render_it_never_started(launcher):
    assert launcher.describe("never-launched") is None


def test_stopping_a_render_that_already_ended_leaves_it_as_it_ended(launcher, aws):
    job = a_job(launcher.store)
    launcher.launch(job, job.job_spec)  # moto's jobs are Completed at once
    launcher.stop(job.job_id)
    assert aws.sagemaker_job(f"videobot-{job.job_id}").processing_job_status == "Completed"
    assert launcher.reports == []


def test_stopping_a_render_still_waiting_reports_it_stopped(launcher):
    launcher.stop("waiting-job")
    [event] = launcher.reports
    assert event["detail"]["ProcessingJobStatus"] == "Stopped"
    assert event["detail"]["ProcessingJobName"] == "videobot-waiting-job"


def test_the_test_model_needs_no_staged_weights_and_runs_on_cpu(launcher):
    job = a_job(launcher.store, model="tiny")
    request = launcher.processing_job_request(job, job.job_spec)
    assert [i["InputName"] for i in request["ProcessingInputs"]] == ["spec"]
    assert "HF_HUB_OFFLINE" not in request["Environment"]
    assert request["ProcessingResources"]["ClusterConfig"]["InstanceType"] == "ml.m5.xlarge"


def test_every_instance_a_render_may_ask_for_is_in_the_list_the_stack_allows(launcher):
    allowed = instance_types_in_use(launcher.settings.instance_types)
    for info in REGISTRY.values():
        assert instance_type_for(info, launcher.settings.instance_types) in allowed


@pytest.mark.skipif(
    not any(info.mode == "i2v" for info in REGISTRY.values()), reason="no image-to-video model registered"
)
def test_an_image_render_finds_its_picture_beside_its_spec(launcher, resources):
    from dataclasses import replace

    from processing_job.spec import JobSpec

    i2v = next(info for info in REGISTRY.values() if info.mode == "i2v")
    job = a_job(launcher.store)
    spec = JobSpec.create(job_id=job.job_id, model=i2v.key, prompt="A fox.", seed=1, image="picture.png")
    job = replace(job, image_key="images/C1/picture.png")
    resources.s3.put_object(Bucket=BUCKET, Key="images/C1/picture.png", Body=b"\x89PNG")
    launcher.launch(job, spec)
    body = resources.s3.get_object(Bucket=BUCKET, Key=f"specs/{job.job_id}/picture.png")["Body"].read()
    assert body == b"\x89PNG"


# Weights: staged when `make stage-model` ran, else the hub


def test_staged_weights_are_mounted_with_the_hub_offline(launcher, resources):
    stage(resources, "cogvideox-2b")
    job = a_job(launcher.store)
    request = launcher.processing_job_request(job, job.job_spec)
    inputs = {i["InputName"]: i["S3Input"] for i in request["ProcessingInputs"]}
    assert inputs["model"]["S3Uri"] == f"s3://{BUCKET}/models/cogvideox-2b/"
    assert inputs["model"]["LocalPath"] == "/opt/ml/processing/model"
    assert request["Environment"]["HF_HUB_OFFLINE"] == "1"


def test_without_staged_weights_the_job_downloads_from_the_hub_onto_its_volume(launcher):
    job = a_job(launcher.store)
    request = launcher.processing_job_request(job, job.job_spec)
    assert [i["InputName"] for i in request["ProcessingInputs"]] == ["spec"]
    assert "HF_HUB_OFFLINE" not in request["Environment"]
    assert request["Environment"]["HF_HOME"] == "/opt/ml/processing/cache/huggingface"


def test_a_half_staged_model_without_its_manifest_counts_as_not_staged(launcher, resources):
    resources.s3.put_object(Bucket=BUCKET, Key="models/cogvideox-2b/model_index.json", Body=b"{}")
    assert not launcher.weights_staged(REGISTRY["cogvideox-2b"])


def test_whether_weights_are_staged_is_asked_once_per_model_then_remembered(launcher, resources):
    calls = []
    launcher.blobs.client.meta.events.register("before-call.s3.ListObjectsV2", lambda **_: calls.append(1))
    stage(resources, "cogvideox-2b")
    job = a_job(launcher.store)
    for _ in range(3):
        launcher.processing_job_request(job, job.job_spec)
    assert len(calls) == 1


def test_staging_after_a_hub_launch_is_noticed_within_a_minute(launcher, resources):
    info = REGISTRY["cogvideox-2b"]
    now = [1000.0]
    launcher.clock = lambda: now[0]
    assert not launcher.weights_staged(info)
    stage(resources, "cogvideox-2b")
    assert not launcher.weights_staged(info)  # remembered for a little while
    now[0] += 61
    assert launcher.weights_staged(info)


def test_a_stack_that_can_not_reach_the_hub_always_mounts_the_staged_folder(resources):
    launcher = make_launcher(resources, weights_source="staged")
    job = a_job(launcher.store)
    request = launcher.processing_job_request(job, job.job_spec)
    assert [i["InputName"] for i in request["ProcessingInputs"]] == ["spec", "model"]
    assert request["Environment"]["HF_HUB_OFFLINE"] == "1"


def test_smoothing_or_upscaling_a_render_mounts_no_weights(launcher, resources):
    from dataclasses import replace

    from processing_job.spec import JobSpec

    stage(resources, "cogvideox-2b")
    job = replace(a_job(launcher.store), inputs={"clip.mp4": "renders/r1/video.mp4"})
    spec = JobSpec.create(
        job_id=job.job_id, model="2b", prompt="A fox.", seed=1, mode="stages", video="clip.mp4", upscale=2
    )
    request = launcher.processing_job_request(job, spec)
    assert [i["InputName"] for i in request["ProcessingInputs"]] == ["spec"]
    assert "HF_HOME" not in request["Environment"]


# Job names: one prefix per stack


def test_jobs_are_named_describe_and_stopped_with_the_stacks_prefix(resources, aws):
    launcher = make_launcher(resources, job_name_prefix="videobot-staging-123456-")
    job = a_job(launcher.store)
    launcher.launch(job, job.job_spec)
    assert aws.sagemaker_job(f"videobot-staging-123456-{job.job_id}").processing_job_status == "Completed"
    assert launcher.describe(job.job_id).status == "Completed"


def test_when_s3_cannot_say_whether_weights_are_staged_the_render_goes_on_with_the_hub(launcher):
    def refuse_listing(request, **_):
        body = b"<Error><Code>InternalError</Code><Message>x</Message></Error>"
        return AWSResponse(request.url, 500, {}, FakeBody(body))

    launcher.blobs.client.meta.events.register("before-send.s3.ListObjectsV2", refuse_listing)
    job = a_job(launcher.store)
    request = launcher.processing_job_request(job, job.job_spec)
    assert request["Environment"]["HF_HOME"] == "/opt/ml/processing/cache/huggingface"


def test_a_restyle_finds_its_video_beside_its_spec(launcher, resources):
    from dataclasses import replace

    from processing_job.spec import JobSpec

    job = replace(a_job(launcher.store), inputs={"clip.mp4": "videos/C1/clip.mp4"})
    spec = JobSpec.create(
        job_id=job.job_id, model="wan2.2-5b", prompt="In watercolour.", seed=1, mode="v2v", video="clip.mp4"
    )
    resources.s3.put_object(Bucket=BUCKET, Key="videos/C1/clip.mp4", Body=b"mp4 bytes")
    launcher.launch(job, spec)
    body = resources.s3.get_object(Bucket=BUCKET, Key=f"specs/{job.job_id}/clip.mp4")["Body"].read()
    assert body == b"mp4 bytes"


def test_a_join_finds_every_clip_beside_its_spec(launcher, resources):
    from dataclasses import replace

    from processing_job.spec import JobSpec

    keys = {f"shot-{n}.mp4": f"renders/shot{n}/video.mp4" for n in (1, 2, 3)}
    job = replace(a_job(launcher.store), inputs=keys)
    for key in keys.values():
        resources.s3.put_object(Bucket=BUCKET, Key=key, Body=key.encode())
    spec = JobSpec.create(
        job_id=job.job_id, model="tiny-wan", prompt="", seed=0, mode="join", clips=tuple(keys)
    )
    launcher.launch(job, spec)
    for name, key in keys.items():
        assert (
            resources.s3.get_object(Bucket=BUCKET, Key=f"specs/{job.job_id}/{name}")["Body"].read()
            == key.encode()
        )
