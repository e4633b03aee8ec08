"""Limits as people meet them: each refusal says why and when it frees up; nothing starts meanwhile."""

from __future__ import annotations

import time
from dataclasses import replace

from bot.conversation.sessions import Job
from bot.slack.blocks import GENERATE, RETRY
from processing_job.spec import JobSpec
from tests.conftest import ALICE, BOB, CHANNEL, limits, roots


def a_job(job_id, owner=BOB, status="rendering", created_at=None):
    now = time.time() if created_at is None else created_at
    spec = JobSpec.create(job_id=job_id, model="tiny", prompt="A fox.", seed=1, num_frames=9).to_dict()
    return Job(job_id, CHANNEL, "1.000001", owner, spec, created_at=now, updated_at=now, status=status)


def test_a_channel_outside_the_allowed_list_is_refused_with_where_to_go(slack, start_app, alice):
    start_app(limits=limits(allowed_channels=frozenset({"CALLOWED"})))
    slack.slash_command("/video", "a fox", user=ALICE, channel=CHANNEL)
    assert "You can ask me in <#CALLOWED>." in alice.ephemerals()[-1]
    assert roots(slack) == []


def test_a_person_outside_the_allowed_list_is_refused(slack, start_app, alice):
    start_app(limits=limits(allowed_users=frozenset({BOB})))
    slack.slash_command("/video", "a fox", user=ALICE, channel=CHANNEL)
    assert "isn't open to you" in alice.ephemerals()[-1]
    assert roots(slack) == []


def test_more_steps_than_the_workspace_allows_are_refused_before_anything_starts(slack, start_app, alice):
    start_app(limits=limits(max_steps=30))
    slack.slash_command("/video", "a fox --model 2b --steps 40", user=ALICE, channel=CHANNEL)
    assert "40 steps is more than this workspace allows (30 at most)." in alice.ephemerals()[-1]
    assert roots(slack) == []


def test_a_longer_clip_than_the_workspace_allows_is_refused(slack, start_app, alice):
    start_app(limits=limits(max_seconds=2.0))
    slack.slash_command("/video", "a fox --seconds 5", user=ALICE, channel=CHANNEL)
    assert "longer than this workspace allows (2 s at most)" in alice.ephemerals()[-1]


def test_a_longer_clip_than_the_model_renders_is_refused(slack, videobot, alice):
    slack.slash_command("/video", "a fox --seconds 12", user=ALICE, channel=CHANNEL)
    assert "renders clips of up to 6 seconds, not 12" in alice.ephemerals()[-1]


def test_the_models_default_length_is_shortened_to_the_workspaces_cap(slack, start_app, alice):
    start_app(limits=limits(max_seconds=2.0, max_steps=3))
    card = alice.draft_card(alice.video("a fox"))
    assert "17 frames (2.0 s" in card.text + str(card.blocks) and "3 steps" in str(card.blocks)


def test_a_second_render_over_the_personal_concurrency_cap_waits(slack, start_app, alice):
    services = start_app(limits=limits(per_user_concurrent=1))
    services.store.create_job(a_job("running-1", owner=ALICE))
    root = alice.video("a fox")
    alice.click(alice.draft_card(root), GENERATE)
    note = alice.told("the most one person can run at once")
    assert "as soon as one finishes" in note
    assert services.store.get_session(CHANNEL, root.ts).job_ids == ()


def test_the_daily_cap_says_when_the_next_render_frees_up(slack, start_app, alice):
    services = start_app(limits=limits(per_user_daily=2))
    hour_ago = time.time() - 3600
    for n in range(2):
        services.store.create_job(
            a_job(f"done-{n}", owner=ALICE, status="delivered", created_at=hour_ago + n)
        )
    root = alice.video("a fox")
    alice.click(alice.draft_card(root), GENERATE)
    note = alice.told("daily limit")
    assert f"<!date^{int(hour_ago) + 24 * 3600}^" in note


def test_failed_and_cancelled_renders_dont_count_against_the_daily_cap(slack, start_app, alice):
    services = start_app(limits=limits(per_user_daily=1))
    services.store.create_job(a_job("failed-1", owner=ALICE, status="failed"))
    services.store.create_job(a_job("cancelled-1", owner=ALICE, status="cancelled"))
    root = alice.video("a fox --frames 9")
    alice.click(alice.draft_card(root), GENERATE)
    slack.wait_until(lambda: services.store.get_session(CHANNEL, root.ts).job_ids, what="the render")


def test_video_status_lists_my_renders_and_the_queue(slack, start_app, alice):
    services = start_app()
    services.store.create_job(a_job("mine-1", owner=ALICE, status="delivered"))
    services.store.create_job(a_job("mine-2", owner=ALICE, status="rendering"))
    services.store.create_job(a_job("bobs", owner=BOB, status="queued"))
    slack.slash_command("/video", "status", user=ALICE, channel=CHANNEL)
    status = alice.told("Your renders in the last 24 hours")
    assert "(2 of 20 used)" in status
    assert "✅ done" in status and "🎞️ rendering · 1 of 2 in the workspace" in status
    assert "2 of 4 render slots busy" in status and "you have 1 of 2 going" in status


def test_a_refused_reroll_still_works_once_the_quota_frees_up(slack, start_app, alice, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # a render that fails at once gives a result to retry
    services = start_app(limits=limits(per_user_concurrent=1))
    root = alice.video("a fox --model 2b")
    alice.click(alice.draft_card(root), GENERATE)
    failure = slack.wait_until(
        lambda: next((m for m in slack.thread(CHANNEL, root.ts) if RETRY in m.action_ids()), None),
        timeout=60,
        what="the failed render",
    )
    services.store.create_job(a_job("running-elsewhere", owner=ALICE))
    alice.click(failure, RETRY)
    alice.told("the most one person can run at once")
    services.store.save_job(replace(services.store.get_job("running-elsewhere"), status="delivered"))
    alice.click(failure, RETRY)
    slack.wait_until(lambda: len(services.store.get_session(CHANNEL, root.ts).job_ids) == 2, what="the retry")
