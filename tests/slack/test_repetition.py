"""Each fact once, where people look for it: the prompt on its draft card and under its video, the seed
in the video's caption, "done" folded into that caption; counts read as English."""

from __future__ import annotations

from bot.slack.blocks import GENERATE, REROLL
from localslack import render_blocks
from tests.conftest import ALICE, CHANNEL, FAST, limits, message_with, seen, video_in_thread


def delivered(slack, alice, text):
    """(the draft card, the video, the message with the result's controls) of one render."""
    root = alice.video(text)
    card = alice.draft_card(root)
    alice.click(card, GENERATE)
    video = video_in_thread(slack, root)
    return slack.message(CHANNEL, card.ts), video, message_with(slack, root, REROLL)


def prompt_of(services, card) -> str:
    """The opening words of the prompt of the draft `card` shows."""
    return services.store.get_session(CHANNEL, card.thread_ts).draft.prompt[:60]


def test_the_seed_appears_once_per_result(slack, videobot, alice):
    _, video, controls = delivered(slack, alice, f"a fox {FAST} --seed 4242")
    shown = [video.title, video.initial_comment, seen(controls)]
    assert sum(part.count("4242") for part in shown) == 1
    assert "seed 4242" in video.initial_comment


def test_the_prompt_appears_at_most_once_per_result(slack, videobot, alice):
    card, video, controls = delivered(slack, alice, f"a red fox running through snow {FAST}")
    opening = prompt_of(videobot, card)
    shown = [video.title, video.initial_comment, seen(controls)]
    assert sum(part.count(opening) for part in shown) == 1


def test_the_prompt_appears_once_on_its_draft_card(slack, videobot, alice):
    root = alice.video(f"a red fox running through snow {FAST}")
    card = alice.draft_card(root)
    on_screen = "\n".join(render_blocks(card.blocks, {}))  # the text is only the notification's
    assert on_screen.count(prompt_of(videobot, card)) == 1


def test_done_is_said_in_the_videos_caption_not_in_a_message_of_its_own(slack, videobot, alice):
    _, video, controls = delivered(slack, alice, f"a fox {FAST}")
    assert video.initial_comment.startswith("✅ Done: ")
    assert "rendered in" in video.initial_comment
    assert f"<@{ALICE}>, here is your video." in video.initial_comment
    assert "Done" not in seen(controls)


def test_one_render_slot_is_said_in_the_singular(slack, start_app, alice):
    start_app(limits=limits(workspace_concurrent=1))
    slack.slash_command("/video", "status", user=ALICE, channel=CHANNEL)
    status = alice.told("Your renders in the last 24 hours")
    assert "0 of 1 render slot busy" in status


def test_a_replaced_draft_keeps_only_the_opening_of_its_prompt(slack, videobot, alice):
    root = alice.video(f"a red fox running through snow {FAST}")
    first = alice.draft_card(root)
    first_prompt = videobot.store.get_session(CHANNEL, root.ts).draft.prompt
    alice.reply(root, "make it night")
    alice.draft_card(root, revision=2)
    replaced = slack.wait_until(
        lambda: (m := slack.message(CHANNEL, first.ts)) and "Replaced by draft 2." in seen(m) and m,
        what="the first card replaced",
    )
    on_screen = "\n".join(render_blocks(replaced.blocks, {}))
    assert first_prompt[:60] in on_screen and first_prompt not in on_screen
