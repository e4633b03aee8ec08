"""The whole flow, as a person in Slack meets it: /video → prompt → draft → Generate → the mp4."""

from __future__ import annotations

from bot.blocks import CANCEL_DRAFT, GENERATE
from processing_job.export import probe_video
from tests.bot.conftest import CHANNEL, roots

FAST = "--frames 9"  # the tiny model's shortest clip keeps each render to a few seconds


def video_in_thread(slack, root):
    return slack.wait_until(
        lambda: next((f for f in slack.files if f.thread_ts == root.ts), None), timeout=120, what="the video"
    )


def test_video_opens_a_thread_with_the_refined_prompt_and_a_draft_card(slack, videobot, alice):
    root = alice.video("a red fox running through snow")
    card = alice.draft_card(root)
    thread = slack.thread(CHANNEL, root.ts)
    assert "<@UALICE> wants a video: a red fox running through snow" in root.text
    assert any("Fresh powdery snow blankets the ground" in m.text for m in thread)
    assert "Draft 1" in card.text and "49 frames" in card.text
    assert card.action_ids() == [GENERATE, CANCEL_DRAFT]


def test_a_reply_in_the_thread_refines_the_prompt_and_replaces_the_draft(slack, videobot, alice):
    root = alice.video("a fox at sunset")
    first = alice.draft_card(root)
    alice.reply(root, "make it night")
    second = alice.draft_card(root, revision=2)
    assert "It is night" in slack.thread_transcript(CHANNEL, root.ts)
    assert "Changed: light." in slack.thread_transcript(CHANNEL, root.ts)
    replaced = slack.message(CHANNEL, first.ts)
    assert replaced.action_ids() == []
    assert "Replaced by draft 2." in slack.thread_transcript(CHANNEL, root.ts)
    assert second.action_ids() == [GENERATE, CANCEL_DRAFT]


def test_generate_posts_the_video_into_the_same_thread_with_its_details(slack, videobot, alice):
    root = alice.video(f"a red fox running through snow {FAST} --seed 7")
    alice.click(alice.draft_card(root), GENERATE)
    video = video_in_thread(slack, root)
    assert video.name == "video.mp4"
    assert "here is your video" in video.initial_comment
    assert "A red fox running through snow" in video.initial_comment
    assert "seed 7" in video.initial_comment and "9 frames" in video.initial_comment
    slack.wait_until(
        lambda: "✅ Done in" in slack.thread_transcript(CHANNEL, root.ts), what="the done message"
    )


def test_the_posted_video_is_one_slack_plays_inline(slack, videobot, alice):
    root = alice.video(f"a red fox running through snow {FAST}")
    alice.click(alice.draft_card(root), GENERATE)
    info = probe_video(video_in_thread(slack, root).path)
    assert (info.codec, info.pix_fmt, info.faststart) == ("h264", "yuv420p", True)
    assert (info.frames, info.width, info.height) == (9, 192, 128)


def test_pressing_generate_twice_renders_once(slack, videobot, alice):
    root = alice.video(f"a fox {FAST}")
    card = alice.draft_card(root)
    alice.click(card, GENERATE)
    alice.click(card, GENERATE)
    video_in_thread(slack, root)
    videobot.launcher.wait_idle(timeout=120)
    assert len([f for f in slack.files if f.thread_ts == root.ts]) == 1
    assert any("already rendering" in text for text in alice.ephemerals())


def test_only_the_person_who_asked_can_generate(slack, videobot, alice, bob):
    root = alice.video(f"a fox {FAST}")
    bob.click(alice.draft_card(root), GENERATE)
    slack.wait_until(lambda: bob.ephemerals(), what="bob's note")
    assert "Only <@UALICE>, who started this video, can do that." in bob.ephemerals()[-1]
    assert videobot.store.get_job(f"{CHANNEL}-{root.ts.replace('.', '')}-r1".lower()) is None


def test_a_render_that_fails_is_explained_in_the_thread(slack, videobot, alice, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # CogVideoX-2B weights are neither staged nor reachable
    root = alice.video("a fox --model 2b")
    alice.click(alice.draft_card(root), GENERATE)
    text = slack.wait_until(
        lambda: next((m.text for m in slack.thread(CHANNEL, root.ts) if "didn't finish" in m.text), None),
        timeout=60,
        what="the explanation",
    )
    assert "CogVideoX-2B" in text and "weights" in text
    assert not [f for f in slack.files if f.thread_ts == root.ts]


def test_a_mistake_in_the_command_is_explained_privately_and_starts_nothing(slack, videobot, alice):
    answer = slack.slash_command("/video", "a fox --frames lots", user="UALICE", channel=CHANNEL)
    assert answer.status == 200
    assert "`--frames` takes a whole number, not `lots`." in alice.ephemerals()[-1]
    assert roots(slack) == []


def test_video_help_explains_the_command(slack, videobot, alice):
    slack.slash_command("/video", "help", user="UALICE", channel=CHANNEL)
    assert "*Make a video:*" in alice.ephemerals()[-1]
    assert roots(slack) == []
