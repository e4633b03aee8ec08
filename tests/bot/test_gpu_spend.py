"""The daily cap bounds GPU time: a render that reached the GPU counts, however it ended; one that was
failed or cancelled before it started rendering gives its quota back."""

from __future__ import annotations

import time
from dataclasses import replace

from bot.blocks import GENERATE
from tests.bot.conftest import ALICE, CHANNEL, limits
from tests.bot.test_limits_in_slack import a_job


def test_a_cancelled_render_that_reached_the_gpu_counts_against_the_daily_cap(slack, start_app, alice):
    services = start_app(limits=limits(per_user_daily=1))
    started = time.time() - 600
    services.store.create_job(
        replace(a_job("ran-then-cancelled", owner=ALICE, status="cancelled"), started_at=started)
    )
    root = alice.video("a fox --frames 9")
    alice.click(alice.draft_card(root), GENERATE)
    assert "daily limit" in alice.told("daily limit")
    assert services.store.get_session(CHANNEL, root.ts).job_ids == ()


def test_video_status_shows_a_cancelled_render_that_reached_the_gpu_as_counted(slack, start_app, alice):
    services = start_app()
    services.store.create_job(
        replace(a_job("ran-then-cancelled", owner=ALICE, status="cancelled"), started_at=time.time() - 60)
    )
    services.store.create_job(a_job("cancelled-while-waiting", owner=ALICE, status="cancelled"))
    slack.slash_command("/video", "status", user=ALICE, channel=CHANNEL)
    status = alice.told("Your renders in the last 24 hours")
    assert "(1 of 20 used)" in status
    assert status.count("counted: it had reached the GPU") == 1
