"""Deployed: when every render slot of the workspace is busy, a render waits in line (no refusal, no
processing job yet), and the job-events function starts it when the render ahead of it ends."""

from __future__ import annotations

from bot.slack.blocks import CANCEL_JOB, GENERATE
from tests.aws.conftest import job_id_of, open_thread
from tests.conftest import CHANNEL


def progress_text(slack, root):
    return next((m.text for m in slack.thread(CHANNEL, root.ts) if CANCEL_JOB in m.action_ids()), "")


def test_a_render_waiting_for_a_slot_starts_when_the_one_ahead_ends(deployed, alice, bob, slack, monkeypatch):
    monkeypatch.setenv("VIDEOBOT_WORKSPACE_CONCURRENT", "1")
    deployed.cold_start()
    first = open_thread(bob, "an owl")
    bob.click(bob.draft_card(first), GENERATE)
    deployed.processing_job(job_id_of(first))
    second = open_thread(alice, "a fox")
    alice.click(alice.draft_card(second), GENERATE)
    slack.wait_until(lambda: "You're next in line" in progress_text(slack, second), what="the line")
    deployed.lam.wait_idle()
    assert f"videobot-{job_id_of(second)}" not in deployed.aws.sagemaker_jobs()
    deployed.finish(job_id_of(first), "Completed")
    deployed.processing_job(job_id_of(second))  # created by the job-events function
