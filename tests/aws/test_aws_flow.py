"""The whole flow on the AWS backends, through the Lambda handlers: `/video` → refine → Generate → a
SageMaker processing job → its outputs in S3 and its state-change event → the mp4 in the thread."""

from __future__ import annotations

import json

from bot.slack.blocks import CANCEL_JOB, GENERATE
from tests.aws.conftest import JOB_IMAGE, VIDEO, generate, job_id_of, open_thread
from tests.conftest import CHANNEL
from tests.fakes.aws_lambda import BUCKET, JOB_ROLE


def video_in_thread(slack, root):
    return slack.wait_until(
        lambda: next((f for f in slack.files if f.thread_ts == root.ts), None), what="the video in the thread"
    )


def progress_message(slack, root):
    return next(
        m for m in slack.thread(CHANNEL, root.ts) if CANCEL_JOB in m.action_ids() or "Render" in m.text
    )


def test_generate_starts_a_processing_job_with_the_image_role_inputs_output_tags_and_time_limit(
    deployed, alice, resources
):
    _, job_id = generate(deployed, alice, "a red fox running through snow --seed 7")
    job = deployed.processing_job(job_id)
    assert job.app_specification["ImageUri"] == JOB_IMAGE
    assert job.role_arn == JOB_ROLE
    inputs = {i["InputName"]: i["S3Input"] for i in job.processing_inputs}
    assert inputs["spec"]["S3Uri"] == f"s3://{BUCKET}/specs/{job_id}/"
    assert inputs["spec"]["LocalPath"] == "/opt/ml/processing/input"
    assert "model" not in inputs  # the job reads the staged weights itself (VIDEOBOT_WEIGHTS_S3)
    output = job.processing_output_config["Outputs"][0]["S3Output"]
    assert output["S3Uri"] == f"s3://{BUCKET}/renders/{job_id}/"
    assert output["LocalPath"] == "/opt/ml/processing/output"
    assert job.stopping_condition == {"MaxRuntimeInSeconds": 1800}
    tags = {t["Key"]: t["Value"] for t in job.tags}
    assert tags["videobot:job-id"] == job_id
    assert tags["videobot:channel"] == CHANNEL
    assert tags["videobot:owner"] == "UALICE"
    spec = json.loads(resources.s3.get_object(Bucket=BUCKET, Key=f"specs/{job_id}/spec.json")["Body"].read())
    assert (spec["job_id"], spec["model"], spec["seed"]) == (job_id, "cogvideox-2b", 7)


def test_video_then_a_refinement_then_generate_ends_with_the_mp4_in_the_thread(deployed, alice, slack):
    root = open_thread(alice, "a red fox running through snow --seed 7")
    alice.draft_card(root)
    alice.reply(root, "make it night")
    alice.click(alice.draft_card(root, revision=2), GENERATE)
    job_id = job_id_of(root, revision=2)
    deployed.processing_job(job_id)  # SageMaker has it; now it renders, uploads, and tells EventBridge
    deployed.finish(job_id, "Completed")
    video = video_in_thread(slack, root)
    assert video.name == "video.mp4"
    assert video.path.read_bytes() == VIDEO
    assert "here is your video" in video.initial_comment and "seed 7" in video.initial_comment
    spec = json.loads(
        deployed.resources.s3.get_object(Bucket=BUCKET, Key=f"specs/{job_id}/spec.json")["Body"].read()
    )
    assert "night" in spec["prompt"].lower()  # the refined draft is what was rendered
    assert "rendered in 93 s" in slack.thread_transcript(CHANNEL, root.ts)


def test_the_request_asks_for_the_models_instance_type_volume_and_the_jobs_environment(deployed, alice):
    sent = deployed.record_requests()
    generate(deployed, alice, "a fox")
    request = sent[0]
    assert request["ProcessingResources"]["ClusterConfig"] == {
        "InstanceCount": 1,
        "InstanceType": "ml.g5.2xlarge",
        "VolumeSizeInGB": 120,
    }
    job_id = {t["Key"]: t["Value"] for t in request["Tags"]}["videobot:job-id"]
    assert request["Environment"] == {
        "VIDEOBOT_PROGRESS": "eventbridge",
        "VIDEOBOT_EVENT_BUS": "videobot-bus",
        "VIDEOBOT_MODEL_CACHE": "/opt/ml/processing/cache",
        "VIDEOBOT_WEIGHTS_S3": f"s3://{BUCKET}/models/cogvideox-2b/",
        "HF_HUB_OFFLINE": "1",
        "VIDEOBOT_WARM_IDLE_S": "300",
        "VIDEOBOT_WARM_BUCKET": BUCKET,
        "VIDEOBOT_WARM_POOL": "cogvideox-2b--ml.g5.2xlarge",
        "VIDEOBOT_WARM_HOST": job_id,
        "VIDEOBOT_WARM_BUDGET_S": "1620",
    }
    assert "VpcConfig" not in request["NetworkConfig"]


def test_jobs_run_in_the_stacks_subnets_when_it_gives_some(deployed, alice, monkeypatch):
    monkeypatch.setenv("VIDEOBOT_JOB_SUBNETS", "subnet-a,subnet-b")
    monkeypatch.setenv("VIDEOBOT_JOB_SECURITY_GROUPS", "sg-1")
    deployed.cold_start()
    sent = deployed.record_requests()
    generate(deployed, alice, "a fox --model 5b")
    assert sent[0]["NetworkConfig"]["VpcConfig"] == {
        "Subnets": ["subnet-a", "subnet-b"],
        "SecurityGroupIds": ["sg-1"],
    }
    assert sent[0]["ProcessingResources"]["ClusterConfig"]["InstanceType"] == "ml.g6e.4xlarge"


def test_progress_events_update_the_progress_message(deployed, alice, slack):
    root, job_id = generate(deployed, alice, "a fox")
    deployed.deliver(deployed.state_change(job_id, "InProgress"))
    deployed.deliver(deployed.progress(job_id, "denoising", step=10, total=50, elapsed_s=20.0))
    assert "Rendering ▓▓░░░░░░░░ 20% · step 10/50" in progress_message(slack, root).text


def test_a_failed_render_is_explained_in_the_jobs_own_words(deployed, alice, slack):
    root, job_id = generate(deployed, alice, "a fox")
    deployed.set_status(job_id, "Failed")
    deployed.deliver(
        deployed.state_change(
            job_id,
            "Failed",
            FailureReason="AlgorithmError: the job exited with code 1",
            ExitMessage="The GPU ran out of memory while decoding; try fewer frames.",
        )
    )
    transcript = slack.thread_transcript(CHANNEL, root.ts)
    assert (
        "❌ The render didn't finish: The GPU ran out of memory while decoding; try fewer frames."
        in transcript
    )
    assert not slack.files


def test_a_failure_event_without_the_jobs_words_is_explained_from_sagemakers_record(deployed, alice, slack):
    root, job_id = generate(deployed, alice, "a fox")
    deployed.set_status(
        job_id, "Failed", failure_reason="AlgorithmError: exit 1", exit_message="The prompt was empty."
    )
    deployed.deliver(deployed.state_change(job_id, "Failed", FailureReason="AlgorithmError: exit 1"))
    assert "❌ The render didn't finish: The prompt was empty." in slack.thread_transcript(CHANNEL, root.ts)


def test_a_render_without_capacity_in_the_end_is_explained_plainly(deployed, alice, slack):
    root, job_id = generate(deployed, alice, "a fox")
    deployed.set_status(job_id, "Failed")
    deployed.deliver(
        deployed.state_change(job_id, "Failed", FailureReason="CapacityError: Unable to provision")
    )
    assert "There was no GPU capacity available" in slack.thread_transcript(CHANNEL, root.ts)


def test_cancel_stops_the_processing_job_and_the_thread_says_so(deployed, alice, slack):
    root, job_id = generate(deployed, alice, "a fox")
    deployed.set_status(job_id, "InProgress")
    alice.click(progress_message(slack, root), CANCEL_JOB)
    slack.wait_until(
        lambda: deployed.aws.sagemaker_job(f"videobot-{job_id}").processing_job_status == "Stopped",
        what="StopProcessingJob",
    )
    deployed.deliver(deployed.state_change(job_id, "Stopped"))
    assert "🛑 Render cancelled." in slack.thread_transcript(CHANNEL, root.ts)
    assert not slack.files


def test_a_completed_render_whose_video_is_missing_is_explained(deployed, alice, slack):
    root, job_id = generate(deployed, alice, "a fox")
    deployed.write_outputs(job_id, video=None)
    deployed.set_status(job_id, "Completed")
    deployed.deliver(deployed.state_change(job_id, "Completed"))
    assert "its video is missing" in slack.thread_transcript(CHANNEL, root.ts)
    assert not slack.files
    assert deployed.services.store.get_job(job_id).status == "failed"


def test_events_of_other_processing_jobs_are_ignored(deployed, alice, slack):
    root, job_id = generate(deployed, alice, "a fox")
    before = slack.thread_transcript(CHANNEL, root.ts)
    other = deployed.state_change(job_id, "Completed")
    other["detail"]["ProcessingJobName"] = "someone-elses-job"
    deployed.deliver(other)
    assert slack.thread_transcript(CHANNEL, root.ts) == before
