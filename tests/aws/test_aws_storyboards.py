"""Storyboards on the AWS backends, through the Lambda handlers: each shot is its own SageMaker
processing job (as many at once as the caps allow), a shot's failure loses none of the others, and the
cut is a join job whose input folder holds every shot's clip."""

from __future__ import annotations

import time

from bot.conversation.quotas import usage
from bot.conversation.sessions import Job
from bot.jobs.launchers.sagemaker import JOIN_MAX_RUNTIME_S
from bot.runtime.aws_settings import CPU_INSTANCE, GPU_24GB_INSTANCE, instance_types_in_use
from bot.slack.story_blocks import STORY_GENERATE, STORY_RETRY_SHOT
from processing_job.spec import JobSpec
from tests.aws.conftest import open_thread
from tests.conftest import ALICE, CHANNEL, seen
from tests.fakes.aws_lambda import BUCKET


def generated(deployed, alice, idea):
    """`/video story idea`, then Generate on its card; returns the thread's root."""
    root = open_thread(alice, f"story {idea}")
    card = deployed.slack.wait_until(
        lambda: next(
            (m for m in deployed.slack.thread(CHANNEL, root.ts) if STORY_GENERATE in m.action_ids()), None
        ),
        what="the storyboard card",
    )
    alice.click(card, STORY_GENERATE)
    return root


def shot_jobs(deployed, root, count):
    """The job ids of the storyboard's shots, once `count` of them have been launched."""
    store = deployed.services.store
    return deployed.slack.wait_until(
        lambda: (
            (ids := [s.job_id for s in store.get_storyboard(CHANNEL, root.ts).shots if s.job_id])
            and len(ids) >= count
            and ids
        ),
        what=f"{count} shots launched",
    )


def progress_text(deployed, root):
    return next(seen(m) for m in deployed.slack.thread(CHANNEL, root.ts) if "🎬 Storyboard:" in m.text)


def test_each_shot_is_its_own_processing_job_and_the_caps_start_the_rest_as_shots_finish(deployed, alice):
    root = generated(deployed, alice, "a red fox running through snow --shots 3")
    first, second = shot_jobs(deployed, root, 2)
    assert (
        deployed.processing_job(first).processing_job_name
        != deployed.processing_job(second).processing_job_name
    )
    # Two renders at once per person (the default cap): the third shot waits for a slot.
    assert len(shot_jobs(deployed, root, 2)) == 2 and "waiting for a free slot" in progress_text(
        deployed, root
    )
    deployed.finish(first, "Completed")
    third = shot_jobs(deployed, root, 3)[2]
    deployed.processing_job(third)
    assert "1. Establishing wide — ✅ done" in progress_text(deployed, root)


def test_a_failed_shot_loses_none_of_the_others_and_the_cut_joins_every_clip(deployed, alice, resources):
    sent = deployed.record_requests()
    root = generated(deployed, alice, "a red fox running through snow --shots 2")
    first, second = shot_jobs(deployed, root, 2)
    deployed.finish(first, "Completed")
    deployed.set_status(second, "Failed")
    deployed.deliver(
        deployed.state_change(second, "Failed", FailureReason="CapacityError: Unable to provision")
    )
    deployed.slack.wait_until(
        lambda: "❌ failed: There was no GPU capacity" in progress_text(deployed, root), what="shot 2 failed"
    )
    assert "1. Establishing wide — ✅ done" in progress_text(deployed, root)
    progress = next(m for m in deployed.slack.thread(CHANNEL, root.ts) if "🎬 Storyboard:" in m.text)
    alice.click(progress, STORY_RETRY_SHOT)
    again = deployed.slack.wait_until(
        lambda: (j := shot_jobs(deployed, root, 2)[1]) != second and j, what="shot 2 launched again"
    )
    deployed.processing_job(again)
    deployed.finish(again, "Completed")
    cut = deployed.slack.wait_until(
        lambda: deployed.services.store.get_storyboard(CHANNEL, root.ts).cut_job_id, what="the join job"
    )
    deployed.processing_job(cut)
    staged = resources.s3.list_objects_v2(Bucket=BUCKET, Prefix=f"specs/{cut}/")["Contents"]
    assert sorted(o["Key"].rsplit("/", 1)[1] for o in staged) == ["shot1.mp4", "shot2.mp4", "spec.json"]
    join_request = next(r for r in sent if r["ProcessingJobName"].endswith(cut))
    assert [i["InputName"] for i in join_request["ProcessingInputs"]] == ["spec"]  # no weights to copy
    deployed.finish(cut, "Completed")
    video = deployed.slack.wait_until(
        lambda: next((f for f in deployed.slack.files if f.thread_ts == root.ts), None), what="the cut"
    )
    assert video.name == "storyboard.mp4" and "2 shots, with crossfades" in video.initial_comment


def instance_of(request):
    return request["ProcessingResources"]["ClusterConfig"]["InstanceType"]


def test_the_cut_is_joined_on_a_cpu_instance_within_minutes_while_the_shots_render_on_the_gpu(
    deployed, alice
):
    sent = deployed.record_requests()
    root = generated(deployed, alice, "a red fox running through snow --shots 2")
    first, second = shot_jobs(deployed, root, 2)
    deployed.finish(first, "Completed")
    deployed.finish(second, "Completed")
    store = deployed.services.store
    cut = deployed.slack.wait_until(
        lambda: store.get_storyboard(CHANNEL, root.ts).cut_job_id, what="the join"
    )
    deployed.processing_job(cut)
    join = next(r for r in sent if r["ProcessingJobName"].endswith(cut))
    shots = [r for r in sent if not r["ProcessingJobName"].endswith(cut)]
    assert instance_of(join) == CPU_INSTANCE
    assert [instance_of(r) for r in shots] == [GPU_24GB_INSTANCE] * 2  # the default model's A10G
    assert join["StoppingCondition"]["MaxRuntimeInSeconds"] <= JOIN_MAX_RUNTIME_S
    assert CPU_INSTANCE in instance_types_in_use(deployed.services.launcher.settings.instance_types)


def test_post_processing_of_a_video_stays_on_its_models_gpu(deployed):
    spec = JobSpec.create(
        job_id="c1-1-u2",
        model="cogvideox-2b",
        prompt="A fox.",
        seed=1,
        mode="stages",
        video="clip.mp4",
        upscale=2,
    )
    job = Job(
        job_id=spec.job_id,
        channel="C1",
        thread_ts="1.0",
        owner=ALICE,
        spec=spec.to_dict(),
        created_at=0,
        updated_at=0,
    )
    request = deployed.services.launcher.processing_job_request(job, spec)
    assert instance_of(request) == GPU_24GB_INSTANCE  # upscaling runs on the GPU


def test_a_join_never_counts_against_the_owners_daily_renders(deployed, alice):
    root = generated(deployed, alice, "a red fox running through snow --shots 2")
    for shot in shot_jobs(deployed, root, 2):
        deployed.finish(shot, "Completed")
    store = deployed.services.store
    cut = deployed.slack.wait_until(
        lambda: store.get_storyboard(CHANNEL, root.ts).cut_job_id, what="the join"
    )
    jobs = store.jobs_for_owner(ALICE)
    assert cut in {j.job_id for j in jobs} and len(jobs) == 3
    assert usage(ALICE, jobs, [], now=time.time()).last_day == 2  # the two shots, not the join
