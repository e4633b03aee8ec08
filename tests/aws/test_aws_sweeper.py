"""The sweeper finishes renders whose events never came, as the events would have."""

from __future__ import annotations

import pytest

from bot.slack.blocks import GENERATE
from tests.aws.conftest import VIDEO, generate, job_id_of, open_thread
from tests.conftest import CHANNEL


@pytest.fixture
def sweep_now(deployed, monkeypatch):
    """Every active render counts as stale (instead of after 15 minutes without news)."""
    monkeypatch.setenv("VIDEOBOT_SWEEP_STALE_AFTER_S", "0")
    deployed.cold_start()
    return deployed


def test_a_completed_render_whose_event_never_came_is_delivered(sweep_now, alice, slack):
    root, job_id = generate(sweep_now, alice, "a fox")
    sweep_now.write_outputs(job_id)
    sweep_now.set_status(job_id, "Completed")  # ... and EventBridge lost the event
    report = sweep_now.sweep()
    assert report["finished"] == [job_id]
    video = next(f for f in slack.files if f.thread_ts == root.ts)
    assert video.path.read_bytes() == VIDEO
    assert sweep_now.sweep()["checked"] == []  # delivered: nothing left to sweep


def test_a_failed_render_whose_event_never_came_is_explained(sweep_now, alice, slack):
    root, job_id = generate(sweep_now, alice, "a fox")
    sweep_now.set_status(job_id, "Failed", failure_reason="AlgorithmError", exit_message="Out of GPU memory.")
    sweep_now.sweep()
    assert "❌ The render didn't finish: Out of GPU memory." in slack.thread_transcript(CHANNEL, root.ts)


def test_a_render_still_running_is_left_alone(sweep_now, alice, slack):
    root, job_id = generate(sweep_now, alice, "a fox")
    sweep_now.set_status(job_id, "InProgress")
    before = slack.thread_transcript(CHANNEL, root.ts)
    report = sweep_now.sweep()
    assert report["checked"] == [job_id] and report["finished"] == []
    assert slack.thread_transcript(CHANNEL, root.ts) == before
    assert sweep_now.services.store.get_job(job_id).status == "rendering"  # it did start


def test_recent_renders_are_not_asked_about(deployed, alice):
    generate(deployed, alice, "a fox")
    assert deployed.sweep()["checked"] == []


def test_a_render_waiting_for_capacity_too_long_is_given_up_with_an_explanation(
    deployed, alice, slack, monkeypatch
):
    monkeypatch.setenv("VIDEOBOT_SWEEP_STALE_AFTER_S", "0")
    monkeypatch.setenv("VIDEOBOT_MAX_QUEUE_WAIT_S", "0")
    deployed.cold_start()
    deployed.refuse_capacity(times=1)
    root = open_thread(alice, "a fox")
    alice.click(alice.draft_card(root), GENERATE)
    job_id = job_id_of(root)
    slack.wait_until(lambda: deployed.services.store.get_job(job_id), what="the job")
    deployed.lam.wait_idle()
    assert deployed.sweep()["given_up"] == [job_id]
    assert "There was no GPU capacity for this render" in slack.thread_transcript(CHANNEL, root.ts)
    assert deployed.dispatch(deployed.waiting_messages()) == {"batchItemFailures": []}
    assert deployed.aws.sagemaker_jobs() == {}


def test_a_render_waiting_for_capacity_a_little_while_keeps_waiting(sweep_now, alice, slack):
    sweep_now.refuse_capacity(times=1)
    root = open_thread(alice, "a fox")
    alice.click(alice.draft_card(root), GENERATE)
    job_id = job_id_of(root)
    slack.wait_until(lambda: "in line" in slack.thread_transcript(CHANNEL, root.ts), what="the place in line")
    assert sweep_now.sweep()["given_up"] == []
    assert sweep_now.services.store.get_job(job_id).status == "queued"
