"""Every render path passes the same caps: a Final render, a Reroll, a Try again or a Generate never
renders more steps (or a longer clip) than the workspace allows."""

from __future__ import annotations

from dataclasses import replace

from bot.blocks import CANCEL_JOB, FINAL_RENDER, GENERATE
from bot.store import change_session
from tests.bot.conftest import CHANNEL, FAST, limits, message_with, seen, video_in_thread


def progress_messages(slack, root):
    return [m for m in slack.thread(CHANNEL, root.ts) if CANCEL_JOB in m.action_ids()]


def test_a_final_render_keeps_to_the_workspaces_step_cap(slack, start_app, alice):
    start_app(limits=limits(max_steps=3))
    root = alice.video(f"a fox {FAST} --seed 7 --draft")
    alice.click(alice.draft_card(root), GENERATE)
    video_in_thread(slack, root)
    alice.click(message_with(slack, root, FINAL_RENDER), FINAL_RENDER)
    progress = slack.wait_until(lambda: progress_messages(slack, root)[0], what="the final render's progress")
    assert "final quality" in seen(progress) and "3 steps" in seen(progress)
    assert "4 steps" not in seen(progress)


def test_a_draft_beyond_the_cap_is_refused_at_generate_with_the_reason(slack, start_app, alice):
    services = start_app(limits=limits(max_steps=3))
    root = alice.video(f"a fox {FAST}")
    card = alice.draft_card(root)
    session = services.store.get_session(CHANNEL, root.ts)
    # A draft written before the cap was lowered (or by any path that skipped the flags' check).
    change_session(
        services.store, session, lambda s: replace(s, draft=replace(s.draft, num_inference_steps=40))
    )
    alice.click(card, GENERATE)
    assert "40 steps is more than this workspace allows (3 at most)." in alice.told("steps")
    assert services.store.get_session(CHANNEL, root.ts).job_ids == ()
