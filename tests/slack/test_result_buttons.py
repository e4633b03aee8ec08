"""After a render: 🎲 Reroll, 🎬 Final render, ✏️ Refine, 🔁 Try again, and 🛑 Cancel while it runs."""

from __future__ import annotations

import re

from bot.slack.blocks import (
    CANCEL_JOB,
    EXTEND_VIDEO,
    FEEDBACK_DOWN,
    FEEDBACK_UP,
    FINAL_RENDER,
    GENERATE,
    REFINE,
    REROLL,
    RETRY,
    SMOOTH_VIDEO,
    UPSCALE_VIDEO,
)
from tests.conftest import CHANNEL, FAST, message_with, seen, thread_text, video_in_thread


def rendered(slack, alice, text):
    """A session whose first render is delivered; returns (root, the result message)."""
    root = alice.video(text)
    alice.click(alice.draft_card(root), GENERATE)
    video_in_thread(slack, root)
    return root, message_with(slack, root, REROLL)


def controls(result):
    """The result's buttons that act on the video (👍 / 👎 aside: test_feedback.py)."""
    return [a for a in result.action_ids() if a not in (FEEDBACK_UP, FEEDBACK_DOWN)]


def progress_messages(slack, root):
    return [m for m in slack.thread(CHANNEL, root.ts) if CANCEL_JOB in m.action_ids()]


def failed(slack, alice, monkeypatch, text="a fox --model 2b"):
    """A session whose render failed at once (CogVideoX-2B weights are neither staged nor reachable)."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    root = alice.video(text)
    alice.click(alice.draft_card(root), GENERATE)
    return root, message_with(slack, root, RETRY)


def test_the_result_buttons_sit_under_the_video_and_the_progress_message_is_gone(slack, videobot, alice):
    root, result = rendered(slack, alice, f"a fox {FAST}")
    video = video_in_thread(slack, root)
    thread = [m.ts for m in slack.thread(CHANNEL, root.ts)]
    assert thread.index(video.message_ts) + 1 == thread.index(result.ts)  # the next message after it
    slack.wait_until(lambda: not progress_messages(slack, root), what="the progress message gone")


def test_reroll_renders_the_same_draft_again_with_a_new_seed(slack, videobot, alice):
    root, result = rendered(slack, alice, f"a fox {FAST} --seed 7")
    assert controls(result)[:2] == [REROLL, REFINE]  # Extend & co.: test_post_processing.py
    assert "seed 7" not in seen(result)  # the caption says it, once (test_repetition.py)
    alice.click(result, REROLL)
    progress = slack.wait_until(lambda: progress_messages(slack, root)[0], what="the reroll's progress")
    seed = re.search(r"seed (\d+)", seen(progress)).group(1)
    assert seed != "7" and "9 frames" in seen(progress)


def test_a_draft_renders_result_offers_a_final_render_with_the_same_prompt_and_seed(slack, videobot, alice):
    root, result = rendered(slack, alice, f"a fox {FAST} --seed 7 --draft")
    assert controls(result) == [REROLL, REFINE, FINAL_RENDER, EXTEND_VIDEO, SMOOTH_VIDEO, UPSCALE_VIDEO]
    assert "draft quality" in thread_text(slack, root)
    alice.click(result, FINAL_RENDER)
    progress = slack.wait_until(lambda: progress_messages(slack, root)[0], what="the final render's progress")
    assert "seed 7" in seen(progress) and "4 steps" in seen(progress) and "final quality" in seen(progress)


def test_a_failed_render_offers_to_try_again_and_says_whether_it_counted(slack, videobot, alice, monkeypatch):
    root, failure = failed(slack, alice, monkeypatch)
    # It had started on the renderer (GPU time was spent), so it counted: see test_gpu_spend.py.
    assert "didn't finish" in failure.text and "counted against your daily quota" in seen(failure)
    alice.click(failure, RETRY)
    slack.wait_until(lambda: thread_text(slack, root).count("didn't finish") == 2, timeout=60, what="retry")
    assert len(videobot.store.get_session(CHANNEL, root.ts).job_ids) == 2


def test_refine_goes_back_to_a_draft_card_with_that_renders_prompt(slack, videobot, alice, monkeypatch):
    root, failure = failed(slack, alice, monkeypatch, "a fox at sunset --model 2b --seed 9")
    alice.click(failure, REFINE)
    card = alice.draft_card(root, revision=2)
    assert "golden-hour light" in seen(card) and "seed 9" in seen(card) and "CogVideoX-2B" in seen(card)
    alice.reply(root, "make it night")
    assert "It is night" in seen(alice.draft_card(root, revision=3))


def test_try_again_pressed_twice_renders_once(slack, videobot, alice, monkeypatch):
    root, failure = failed(slack, alice, monkeypatch)
    alice.click(failure, RETRY)
    alice.click(failure, RETRY)
    alice.told("already on its way")
    assert len(videobot.store.get_session(CHANNEL, root.ts).job_ids) == 2


def test_only_the_owner_can_use_a_renders_buttons(slack, videobot, alice, bob, monkeypatch):
    root, failure = failed(slack, alice, monkeypatch)
    bob.click(failure, RETRY)
    bob.told("Only <@UALICE>")
    assert len(videobot.store.get_session(CHANNEL, root.ts).job_ids) == 1


def test_cancel_stops_the_render_and_says_so_in_the_thread(slack, videobot, alice):
    root = alice.video("a fox")  # 49 frames: long enough to cancel
    alice.click(alice.draft_card(root), GENERATE)
    # Once the job reports its first phase, its process is running.
    progress = slack.wait_until(
        lambda: next((m for m in progress_messages(slack, root) if not m.text.startswith("⏳")), None),
        timeout=60,
        what="the render under way",
    )
    alice.click(progress, CANCEL_JOB)
    slack.wait_until(
        lambda: "Render cancelled" in thread_text(slack, root), timeout=60, what="the cancellation"
    )
    job = videobot.store.get_job(videobot.store.get_session(CHANNEL, root.ts).job_ids[0])
    assert job.status == "cancelled"
    assert not [f for f in slack.files if f.thread_ts == root.ts]


def test_only_the_owner_can_cancel_a_render(slack, videobot, alice, bob):
    root = alice.video("a fox")
    alice.click(alice.draft_card(root), GENERATE)
    bob.click(message_with(slack, root, CANCEL_JOB), CANCEL_JOB)
    bob.told("Only <@UALICE>")
