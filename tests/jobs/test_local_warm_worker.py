"""The local runner's warm worker: one process keeps the tiny pipeline loaded across renders, so the
next render starts at once; Cancel and a crash cost only the render they hit; an idle worker leaves
after its window. The real launcher, real processes, the real tiny pipelines."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest

from bot.adapters.blobs import render_key
from bot.adapters.blobs.filesystem import FilesystemBlobStore
from bot.conversation.sessions import DraftOptions, new_draft, plan_job, set_draft, start_session
from bot.jobs.launchers.local import PID_FILE, LocalJobLauncher
from processing_job.spec import JobSpec

ALICE, CHANNEL = "UALICE", "CWARM"


def a_job(thread: str, **options):
    session = start_session(channel=CHANNEL, thread_ts=thread, owner=ALICE, idea="a fox", now=1)
    draft = new_draft(
        DraftOptions(num_frames=9, **options), prompt="A fox.", default_model="tiny", seed=1, refined_by=""
    )
    return plan_job(set_draft(session, draft, now=1), user=ALICE, admins=frozenset(), now=2)


@pytest.fixture
def runner(tmp_path, model_cache):
    events: list[dict] = []
    made: list[LocalJobLauncher] = []

    def make(**options) -> LocalJobLauncher:
        launcher = LocalJobLauncher(
            root=tmp_path / "jobs",
            blobs=FilesystemBlobStore(tmp_path / "blobs"),
            report=events.append,
            model_cache=model_cache,
            **{"warm_idle_s": 60.0, **options},
        )
        launcher.events = events
        made.append(launcher)
        return launcher

    yield make
    for launcher in made:
        launcher.shutdown()


def ends(launcher) -> dict[str, str]:
    return {
        e["detail"]["ProcessingJobName"].removeprefix("videobot-"): e["detail"]["ProcessingJobStatus"]
        for e in launcher.events
        if e["source"] == "aws.sagemaker" and e["detail"]["ProcessingJobStatus"] != "InProgress"
    }


def result_of(launcher, job) -> dict:
    with launcher._blobs.open(render_key(job.job_id, "result.json")) as data:
        return json.loads(data.read())


def render(launcher, job):
    launcher.launch(job, job.job_spec)
    launcher.wait_idle(timeout=180)


def test_the_next_render_reuses_the_loaded_pipeline_in_the_same_worker(runner):
    launcher = runner()
    first, second = a_job("1.000001"), a_job("2.000002")
    render(launcher, first)
    render(launcher, second)
    assert ends(launcher) == {first.job_id: "Completed", second.job_id: "Completed"}
    assert launcher.workers_started == 1
    assert result_of(launcher, first)["pipeline"]["reused"] is False
    assert result_of(launcher, second)["pipeline"] == {"reused": True, "loads_in_job": 1}


def test_a_failing_render_leaves_the_worker_and_the_next_render_alone(runner):
    launcher = runner()
    broken, good = a_job("1.000001"), a_job("2.000002")
    # An image-to-video render whose picture never arrived: it fails inside the worker.
    no_picture = JobSpec.create(
        job_id=broken.job_id, model="tiny-i2v", prompt="A fox.", seed=1, image="picture.png",
        num_frames=9, height=128, width=192,
    )  # fmt: skip
    launcher.launch(broken, no_picture)
    launcher.wait_idle(timeout=180)
    render(launcher, good)
    assert ends(launcher) == {broken.job_id: "Failed", good.job_id: "Completed"}
    assert launcher.workers_started == 1


def test_cancel_stops_that_render_and_the_next_one_gets_a_fresh_worker(runner):
    launcher = runner()
    cancelled, after = a_job("1.000001", num_inference_steps=50), a_job("2.000002")
    launcher.launch(cancelled, cancelled.job_spec)
    pid_file = launcher._root / cancelled.job_id / PID_FILE
    deadline = time.time() + 60
    while not any(
        e["source"] == "videobot.render" and e["detail"]["phase"] == "denoising" for e in launcher.events
    ):
        assert time.time() < deadline, "the render never started denoising"
        time.sleep(0.05)
    worker = int(pid_file.read_text())
    launcher.stop(cancelled.job_id)
    render(launcher, after)
    assert ends(launcher) == {cancelled.job_id: "Stopped", after.job_id: "Completed"}
    assert launcher.workers_started == 2
    with pytest.raises(ProcessLookupError):
        os.kill(worker, 0)


def test_a_worker_killed_mid_render_fails_that_render_only(runner):
    launcher = runner()
    killed, after = a_job("1.000001", num_inference_steps=50), a_job("2.000002")
    launcher.launch(killed, killed.job_spec)
    pid_file = launcher._root / killed.job_id / PID_FILE
    deadline = time.time() + 60
    while not pid_file.exists():
        assert time.time() < deadline
        time.sleep(0.05)
    os.killpg(int(pid_file.read_text()), signal.SIGKILL)
    render(launcher, after)
    assert ends(launcher) == {killed.job_id: "Failed", after.job_id: "Completed"}
    assert not pid_file.exists()


def test_an_idle_worker_exits_after_its_window(runner):
    launcher = runner(warm_idle_s=2.0)
    render(launcher, a_job("1.000001"))
    [worker] = launcher._workers
    assert worker.poll() is None  # still there, ready for the next render
    worker.wait(timeout=30)  # gone by itself once the window passed
    render(launcher, a_job("2.000002"))
    assert launcher.workers_started == 2
