"""Only the person who asked for a render (or an admin) can cancel it, even when its session is gone."""

from __future__ import annotations

from bot import blocks
from bot.blocks import CANCEL_JOB
from tests.bot.conftest import ALICE, CHANNEL, settle
from tests.bot.test_limits_in_slack import a_job


def test_someone_else_cant_cancel_a_render_whose_session_is_gone(slack, videobot, bob):
    job = videobot.store.create_job(a_job("alices-render", owner=ALICE, status="rendering"))
    text, progress = blocks.progress_message(job, phase="loading")
    ts = videobot.chat.post(CHANNEL, text=text, blocks=progress, thread_ts=job.thread_ts)
    assert videobot.store.get_session(job.channel, job.thread_ts) is None
    bob.click(slack.message(CHANNEL, ts), CANCEL_JOB)
    assert f"Only <@{ALICE}>, who started this video, can do that." in bob.told("Only")
    settle()
    assert videobot.store.get_job("alices-render").status == "rendering"
    assert "Cancelling" not in slack.message(CHANNEL, ts).text
