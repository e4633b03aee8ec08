"""The whole flow, as a person in Slack meets it: /video → prompt → draft → Generate → the mp4."""

from __future__ import annotations

import re

from bot.slack.blocks import CANCEL_DRAFT, CANCEL_JOB, GENERATE, OPEN_SETTINGS
from processing_job.export import probe_video
from tests.conftest import CHANNEL, FAST, roots, seen, thread_text, video_in_thread


def test_video_opens_a_thread_with_the_prompt_written_into_a_draft_card(slack, videobot, alice):
    root = alice.video("a red fox running through snow")
    card = alice.draft_card(root)
    assert "<@UALICE> wants a video: a red fox running through snow" in root.text
    assert "Fresh powdery snow blankets the ground" in seen(card)
    assert "Draft 1" in seen(card) and "49 frames" in seen(card) and "seed" in seen(card)
    assert "Written by the offline refiner." in seen(card)
    assert card.action_ids() == [GENERATE, OPEN_SETTINGS, CANCEL_DRAFT]


def test_the_prompt_is_streamed_into_the_thread(slack, videobot, alice):
    root = alice.video("a red fox running through snow")
    card = alice.draft_card(root)
    assert [c.method for c in slack.api_calls if "Stream" in c.method] == [
        "chat.startStream",
        "chat.stopStream",
    ]
    assert slack.calls("chat.startStream")[0].params["recipient_user_id"] == "UALICE"
    assert card.text.startswith("A red fox running through snow")  # the streamed text is the message


def test_a_reply_in_the_thread_refines_the_prompt_and_replaces_the_draft(slack, videobot, alice):
    root = alice.video("a fox at sunset")
    first = alice.draft_card(root)
    alice.reply(root, "make it night")
    second = alice.draft_card(root, revision=2)
    assert "It is night" in seen(second) and "Changed: light." in seen(second)
    replaced = slack.wait_until(
        lambda: next(
            (m for m in [slack.message(CHANNEL, first.ts)] if "Replaced by draft 2." in seen(m)), None
        ),
        what="draft 1 marked as replaced",
    )
    assert replaced.action_ids() == []
    assert second.action_ids() == [GENERATE, OPEN_SETTINGS, CANCEL_DRAFT]


def test_replies_from_the_owner_and_an_admin_all_shape_the_prompt(slack, start_app, alice, bob):
    start_app(admins=frozenset({bob.user}))  # others' replies leave it alone: test_replies_from_others.py
    root = alice.video("a fox at sunset")
    alice.draft_card(root)
    bob.reply(root, "add a second fox chasing it")
    card = alice.draft_card(root, revision=2)
    assert "A second fox chasing it." in seen(card)


def test_generate_posts_the_video_into_the_same_thread_with_its_details(slack, videobot, alice):
    root = alice.video(f"a red fox running through snow {FAST} --seed 7")
    alice.click(alice.draft_card(root), GENERATE)
    video = video_in_thread(slack, root)
    assert video.name == "video.mp4"
    assert "here is your video" in video.initial_comment
    assert "A red fox running through snow" in video.initial_comment
    assert "seed 7" in video.initial_comment and "9 frames" in video.initial_comment
    assert video.alt_txt.startswith("AI-generated video: A red fox running through snow")
    slack.wait_until(lambda: "✅ Done: " in thread_text(slack, root), what="the done message")


def test_the_posted_video_is_one_slack_plays_inline(slack, videobot, alice):
    root = alice.video(f"a red fox running through snow {FAST}")
    alice.click(alice.draft_card(root), GENERATE)
    info = probe_video(video_in_thread(slack, root).path)
    assert (info.codec, info.pix_fmt, info.faststart) == ("h264", "yuv420p", True)
    assert (info.frames, info.width, info.height) == (9, 192, 128)


def test_the_progress_message_shows_the_phase_and_a_cancel_button(slack, videobot, alice):
    root = alice.video(f"a fox {FAST}")
    alice.click(alice.draft_card(root), GENERATE)
    progress = slack.wait_until(
        lambda: next((m for m in slack.thread(CHANNEL, root.ts) if CANCEL_JOB in m.action_ids()), None),
        what="the progress message",
    )
    assert progress.text.startswith("⏳")
    assert "9 frames" in seen(progress) and "tiny CogVideoX" in seen(progress)


def test_an_admin_can_generate_for_someone_else(slack, start_app, alice):
    start_app(admins=frozenset({"UADMIN"}))
    root = alice.video(f"a fox {FAST}")
    assert slack.click(alice.draft_card(root), GENERATE, user="UADMIN").status == 200
    slack.wait_until(lambda: "started the render" in thread_text(slack, root), what="the render starting")


def test_pressing_generate_twice_renders_once(slack, videobot, alice):
    root = alice.video(f"a fox {FAST}")
    card = alice.draft_card(root)
    alice.click(card, GENERATE)
    alice.click(card, GENERATE)
    alice.told("already rendering")
    assert len(videobot.store.get_session(CHANNEL, root.ts).job_ids) == 1


def test_only_the_person_who_asked_can_generate(slack, videobot, alice, bob):
    root = alice.video(f"a fox {FAST}")
    bob.click(alice.draft_card(root), GENERATE)
    assert "Only <@UALICE>, who started this video, can do that." in bob.told("Only <@UALICE>")
    assert videobot.store.get_job(f"{CHANNEL}-{root.ts.replace('.', '')}-r1".lower()) is None


def test_cancel_on_the_draft_card_closes_it(slack, videobot, alice):
    root = alice.video("a fox")
    card = alice.draft_card(root)
    alice.click(card, CANCEL_DRAFT)
    closed = slack.wait_until(lambda: "Cancelled by" in seen(slack.message(CHANNEL, card.ts)), what="closed")
    assert closed and slack.message(CHANNEL, card.ts).action_ids() == []


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


def test_a_frame_count_the_model_cant_render_is_refused_before_anything_starts(slack, videobot, alice):
    slack.slash_command("/video", "a fox --frames 50", user="UALICE", channel=CHANNEL)
    assert "8N+1 frames" in alice.ephemerals()[-1]
    assert roots(slack) == []


def test_an_image_model_asked_for_in_words_is_refused_with_the_reason(slack, videobot, alice):
    slack.slash_command("/video", "a fox --model 5b-i2v", user="UALICE", channel=CHANNEL)
    assert "makes videos from an image" in alice.ephemerals()[-1]
    assert roots(slack) == []


def test_video_help_explains_the_command(slack, videobot, alice):
    slack.slash_command("/video", "help", user="UALICE", channel=CHANNEL)
    help_text = alice.ephemerals()[-1]
    assert "*Make a video:*" in help_text and "--negative" in help_text and "picture" in help_text
    assert roots(slack) == []


def test_video_in_a_channel_the_bot_isnt_in_says_how_to_invite_it(slack, videobot, alice):
    slack.inject("chat.postMessage", error="not_in_channel")
    slack.slash_command("/video", "a fox", user="UALICE", channel=CHANNEL)
    alice.told("/invite @videobot")
    assert roots(slack) == []


def test_video_in_a_direct_message_works_the_same(slack, videobot, alice):
    dm = slack.dm_channel("UALICE")
    root = alice.video("a corgi surfing at sunset", channel=dm)
    card = alice.draft_card(root, channel=dm)
    assert "Turquoise waves" in seen(card)


def test_a_render_waiting_for_the_renderer_shows_its_place_in_the_queue(slack, videobot, alice):
    first = alice.video("a fox")  # 49 frames: still rendering when the second asks
    alice.click(alice.draft_card(first), GENERATE)
    second = alice.video(f"a hare {FAST}")
    alice.click(alice.draft_card(second), GENERATE)
    slack.wait_until(
        lambda: "You're next in line; I'll start it when a slot frees." in thread_text(slack, second),
        what="the queue position",
    )


def test_a_prompt_longer_than_the_model_reads_is_mentioned_under_the_video(slack, videobot, alice):
    negative = " ".join(["blur", "noise", "ugly", "dark"] * 60)  # 240 words, 1,259 characters
    root = alice.video(f'a red fox running through snow {FAST} --negative "{negative}"')
    alice.click(alice.draft_card(root), GENERATE)
    caption = video_in_thread(slack, root).initial_comment
    cut = re.search(
        r"⚠️ The negative prompt is (\d+) tokens long; .* reads 226, so the last (\d+) were cut\.", caption
    )
    assert cut and int(cut[1]) - int(cut[2]) == 226
