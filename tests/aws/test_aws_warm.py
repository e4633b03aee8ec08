"""Warm renders on AWS, against moto's server: the dispatcher hands a render to a warm job that can take
it soon instead of launching another, and launches one when none can; Cancel stops one render, not
the job; MaxRuntime and the cost cap bound a job; the sweeper tells an idle job from a stuck one.
The warm job itself is the real `processing_job.warm` loop with the tiny pipeline, run here as the
container would run it (its first spec copied in as SageMaker's File input does)."""

from __future__ import annotations

import json
import threading
import time

import pytest

from bot.conversation.sessions import DraftOptions, new_draft, plan_job, set_draft, start_session
from bot.jobs.capacity import WarmJobSoon
from bot.jobs.messages import JobStateChange
from bot.jobs.sweeper import SweepReport, sweep_warm_jobs
from bot.slack.blocks import GENERATE
from processing_job import warm
from processing_job.inference import PipelineCache
from processing_job.paths import JobPaths
from processing_job.progress import NullSink
from processing_job.weights import download_prefix
from tests.aws.test_sagemaker_launcher import make_launcher
from tests.fakes.aws_lambda import BUCKET

TINY_POOL = "tiny--ml.m5.xlarge"


def a_job(store, *, thread="1.000001", model="tiny"):
    session = start_session(channel="C1", thread_ts=thread, owner="U1", idea="a fox", now=0)
    draft = new_draft(DraftOptions(model=model), prompt="A fox.", default_model="2b", seed=1, refined_by="x")
    return store.create_job(plan_job(set_draft(session, draft, now=1), user="U1", admins=frozenset(), now=2))


def created_jobs(aws) -> list[str]:
    return sorted(aws.sagemaker_jobs())


def beat(
    launcher, host, *, state="idle", pool=TINY_POOL, age_s=0.0, free_in_s=0.0, idle_for_s=300.0, render_s=30.0
):
    """A warm job's heartbeat, as the loop writes it."""
    now = time.time()
    launcher.work.beat(
        warm.HostBeat(
            host=host,
            pool=pool,
            state=state,
            updated=now - age_s,
            free_at=now + free_in_s,
            render_s=render_s,
            last_start_at=now + 3000,
            idle_until=now + idle_for_s,
        )
    )


@pytest.fixture
def launcher(resources):
    return make_launcher(resources, max_runtime_s=3600, warm_idle_s=300, warm_wait_s=120)


def run_container(launcher, job_id, tmp_path, monkeypatch, *, idle_s=5.0):
    """The warm job SageMaker would start for `job_id`: its spec folder copied in, then the loop."""
    monkeypatch.setenv("VIDEOBOT_MODEL_CACHE", str(tmp_path / "models"))
    paths = JobPaths.in_folder(tmp_path / "processing")
    download_prefix(launcher.blobs.client, BUCKET, f"specs/{job_id}/", paths.input_dir)
    queue = warm.WorkQueue(launcher.blobs.client, BUCKET)
    pipelines = PipelineCache()
    job = warm.WarmJob(
        queue=queue,
        states=warm.StateReporter(queue, "default", job_id),
        pool=TINY_POOL,
        host=job_id,
        root=tmp_path / "processing" / "warm",
        model_dir=paths.model_dir,
        sink=NullSink(),
        render=warm.default_render(pipelines),
        idle_s=idle_s,
        budget_s=launcher.settings.job_budget_s(launcher.prices.get("ml.m5.xlarge")),
        poll_s=0.05,
    )
    outcomes: list = []
    thread = threading.Thread(target=lambda: outcomes.extend(job.run(paths)), daemon=True)
    thread.start()
    return job, pipelines, thread, outcomes


def test_a_second_render_is_taken_by_the_warm_job_one_launch_one_model_load(
    launcher, aws, tmp_path, monkeypatch
):
    first = a_job(launcher.store, thread="1.000001")
    assert launcher.launch(first, first.job_spec).state == "started"
    job, pipelines, thread, outcomes = run_container(launcher, first.job_id, tmp_path, monkeypatch)
    aws.sagemaker_job(f"videobot-{first.job_id}").processing_job_status = "InProgress"
    deadline = time.time() + 60
    # Its first render done, it waits for work (a job on its first render isn't counted on).
    while not any(b.state == "idle" for b in launcher.work.hosts(TINY_POOL)) and time.time() < deadline:
        time.sleep(0.05)

    second = a_job(launcher.store, thread="2.000002")
    assert launcher.launch(second, second.job_spec).state == "started"
    thread.join(timeout=120)

    assert created_jobs(aws) == [f"videobot-{first.job_id}"]  # one launch
    assert pipelines.loads == 1  # one model load
    assert [(o.render, o.status) for o in outcomes] == [
        (first.job_id, "Completed"),
        (second.job_id, "Completed"),
    ]
    for render in (first.job_id, second.job_id):
        launcher.blobs.client.head_object(Bucket=BUCKET, Key=f"renders/{render}/video.mp4")
    assert launcher.describe(second.job_id) == JobStateChange(second.job_id, "Completed")
    assert job.exit_reason == "idle"


def test_with_no_warm_job_that_can_take_it_soon_a_job_is_launched(launcher, aws):
    beat(launcher, "busy-host", state="busy", free_in_s=600)  # busy for ten more minutes
    job = a_job(launcher.store)
    launcher.launch(job, job.job_spec)
    assert created_jobs(aws) == [f"videobot-{job.job_id}"]
    assert launcher.work.waiting(TINY_POOL) == []


def test_a_job_on_its_first_render_is_not_counted_on(launcher, aws):
    beat(launcher, "new-host", state="busy", render_s=0.0)  # nobody knows yet when its render ends
    job = a_job(launcher.store)
    launcher.launch(job, job.job_spec)
    assert created_jobs(aws) == [f"videobot-{job.job_id}"]


def test_a_silent_warm_job_is_not_counted_on(launcher, aws):
    beat(launcher, "gone-host", age_s=120)  # its last heartbeat is two minutes old
    job = a_job(launcher.store)
    launcher.launch(job, job.job_spec)
    assert created_jobs(aws) == [f"videobot-{job.job_id}"]


def test_an_offered_render_no_warm_job_took_gets_a_job_of_its_own_from_the_dispatcher(launcher, aws):
    beat(launcher, "idle-host")
    job = a_job(launcher.store)
    launcher.launch(job, job.job_spec)
    assert created_jobs(aws) == []  # offered to the warm job
    with pytest.raises(WarmJobSoon):
        launcher.start(job)  # the warm job can still take it: wait
    launcher.work.leave(TINY_POOL, "idle-host")  # it exited without taking it
    launcher.start(job)
    assert created_jobs(aws) == [f"videobot-{job.job_id}"]
    assert launcher.work.claimed_by(job.job_id) == warm.CLAIMED_BY_LAUNCHER


def test_a_render_waiting_for_capacity_is_offered_to_a_warm_job_that_has_room(launcher, aws):
    job = a_job(launcher.store)
    launcher.queue.put(job.job_id)  # SageMaker had no room when it was launched
    beat(launcher, "idle-host")  # now a job of its model waits for work
    with pytest.raises(WarmJobSoon):
        launcher.start(job)
    assert [render for _, render in launcher.work.waiting(TINY_POOL)] == [job.job_id]
    assert created_jobs(aws) == []


def test_a_render_a_warm_job_took_is_left_to_it(launcher, aws):
    beat(launcher, "idle-host")
    job = a_job(launcher.store)
    launcher.launch(job, job.job_spec)
    assert launcher.work.claim(job.job_id, "idle-host")
    launcher.start(job)
    assert created_jobs(aws) == []


def test_cancel_of_a_render_waiting_for_a_warm_job_ends_it_and_no_job_takes_it(launcher, aws):
    beat(launcher, "idle-host")
    job = a_job(launcher.store)
    launcher.launch(job, job.job_spec)
    launcher.stop(job.job_id)
    assert [r["detail"]["ProcessingJobStatus"] for r in launcher.reports] == ["Stopped"]
    assert launcher.work.claim(job.job_id, "idle-host") is False  # the warm job can't take it now


def test_cancel_of_a_render_in_a_warm_job_stops_that_render_not_the_job(launcher, aws):
    host = a_job(launcher.store, thread="1.000001", model="2b")
    launcher.launch(host, host.job_spec)
    aws.sagemaker_job(f"videobot-{host.job_id}").processing_job_status = "InProgress"
    beat(launcher, host.job_id, state="busy", pool="cogvideox-2b--ml.g5.2xlarge")
    taken = a_job(launcher.store, thread="2.000002", model="2b")
    launcher.launch(taken, taken.job_spec)
    assert launcher.work.claim(taken.job_id, host.job_id)
    launcher.stop(taken.job_id)
    assert launcher.work.cancelled(taken.job_id)
    assert aws.sagemaker_job(f"videobot-{host.job_id}").processing_job_status == "InProgress"
    assert launcher.reports == []  # the warm job reports the render Stopped itself


def test_the_request_bounds_the_job_by_max_runtime_and_the_cost_cap(resources):
    launcher = make_launcher(resources, max_runtime_s=3600, job_cost_cap_usd=1.0)
    job = a_job(launcher.store, model="2b")
    request = launcher.processing_job_request(job, job.job_spec)
    assert request["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600}
    # $1 buys 2376 s of an ml.g5.2xlarge at $1.515 an hour: less than MaxRuntime less its margin
    assert request["Environment"]["VIDEOBOT_WARM_BUDGET_S"] == "2376"
    assert request["Environment"]["VIDEOBOT_WARM_POOL"] == "cogvideox-2b--ml.g5.2xlarge"


def test_idle_0_is_one_render_per_job_as_before(resources, aws):
    launcher = make_launcher(resources, warm_idle_s=0)
    beat(launcher, "idle-host")
    job = a_job(launcher.store)
    request = launcher.processing_job_request(job, job.job_spec)
    assert not any(name.startswith("VIDEOBOT_WARM_") for name in request["Environment"])
    launcher.launch(job, job.job_spec)
    assert created_jobs(aws) == [f"videobot-{job.job_id}"]


def test_the_sweeper_tells_an_idle_warm_job_from_a_stuck_one(launcher, aws):
    idle, stuck = a_job(launcher.store, thread="1.000001"), a_job(launcher.store, thread="2.000002")
    for job in (idle, stuck):
        launcher.launch(job, job.job_spec)
        aws.sagemaker_job(f"videobot-{job.job_id}").processing_job_status = "InProgress"
    beat(launcher, idle.job_id)  # waiting for work, heartbeat fresh
    beat(launcher, stuck.job_id, state="busy", age_s=600)  # silent for ten minutes
    report = SweepReport()
    sweep_warm_jobs(launcher, report, now=time.time())
    assert report.warm_idle == [idle.job_id]
    assert report.warm_stopped == [stuck.job_id]
    assert aws.sagemaker_job(f"videobot-{stuck.job_id}").processing_job_status in ("Stopping", "Stopped")
    assert aws.sagemaker_job(f"videobot-{idle.job_id}").processing_job_status == "InProgress"


def test_a_render_whose_warm_job_ended_before_it_finished_is_reported_failed(launcher, aws):
    host = a_job(launcher.store, thread="1.000001")
    launcher.launch(host, host.job_spec)
    aws.sagemaker_job(f"videobot-{host.job_id}").processing_job_status = "InProgress"
    taken = a_job(launcher.store, thread="2.000002")
    assert launcher.work.claim(taken.job_id, host.job_id)
    assert launcher.describe(taken.job_id).status == "InProgress"
    aws.sagemaker_job(f"videobot-{host.job_id}").processing_job_status = "Failed"
    state = launcher.describe(taken.job_id)
    assert state.status == "Failed"
    assert "ended (Failed) before the render finished" in state.failure_reason


def test_a_recorded_outcome_answers_for_a_render_whose_event_was_lost(launcher):
    job = a_job(launcher.store)
    launcher.work.record(job.job_id, "Failed", host="h", exit_message="The picture could not be read.")
    assert launcher.describe(job.job_id) == JobStateChange(
        job.job_id, "Failed", exit_message="The picture could not be read."
    )


def test_render_state_events_are_what_the_job_events_function_reads():
    from bot.jobs.messages import parse_job_event, render_state_event

    event = render_state_event("job-1", "Failed", failure_reason="x", exit_message="The seed is bad.")
    assert parse_job_event(json.loads(json.dumps(event))) == JobStateChange(
        "job-1", "Failed", failure_reason="x", exit_message="The seed is bad."
    )
    assert event["detail-type"] == warm.STATE_DETAIL_TYPE


# Through the deployed handlers: the thread hears each render's own end


def test_a_render_a_warm_job_took_ends_in_its_thread_from_its_own_events(deployed, alice, bob, slack):
    from bot.jobs.messages import render_state_event
    from tests.aws.conftest import generate, job_id_of, open_thread
    from tests.aws.test_aws_flow import video_in_thread

    _, host = generate(deployed, alice, "a fox")
    deployed.set_status(host, "InProgress")
    services = deployed.services
    beat(services.launcher, host, pool="cogvideox-2b--ml.g5.2xlarge")  # done with its render, waiting
    root = open_thread(bob, "an owl")
    bob.click(bob.draft_card(root), GENERATE)
    taken = job_id_of(root)
    queue = warm.WorkQueue(deployed.resources.s3, BUCKET)
    slack.wait_until(lambda: queue.waiting("cogvideox-2b--ml.g5.2xlarge") or None, what="the render offered")
    assert f"videobot-{taken}" not in deployed.aws.sagemaker_jobs()  # no second launch
    assert queue.claim(taken, host)  # the warm job takes it, renders it, and says so
    deployed.deliver(render_state_event(taken, "InProgress", host=host))
    deployed.write_outputs(taken)
    deployed.deliver(render_state_event(taken, "Completed", host=host))
    video = video_in_thread(slack, root)
    assert video.path.read_bytes()
    assert "rendered in 93 s" in slack.thread_transcript(root.channel, root.ts)


def test_a_failed_render_in_a_warm_job_is_explained_in_its_thread(deployed, alice, bob, slack):
    from bot.jobs.messages import render_state_event
    from tests.aws.conftest import generate
    from tests.conftest import thread_text

    root, job_id = generate(deployed, alice, "a fox")
    deployed.deliver(
        render_state_event(
            job_id, "Failed", failure_reason="AlgorithmError", exit_message="The picture could not be read."
        )
    )
    slack.wait_until(lambda: "The picture could not be read." in thread_text(slack, root) or None)
    deployed.finish(job_id, "Completed")  # the job itself ends well later: nothing more is said
    assert thread_text(slack, root).count("The picture could not be read.") == 1
    assert not any(f.thread_ts == root.ts for f in slack.files)
