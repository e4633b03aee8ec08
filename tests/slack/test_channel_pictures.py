"""In channels, a picture is for the bot only when asked: the bot mentioned in its message, a 🎬 reaction
(the session belongs to whoever reacted), shared into a session's thread, or a channel that takes every
picture (`/video channel pictures all`, chosen by an admin). Direct messages work as always.

These start from the product's default (`mention`); the other tests' workspace takes every picture."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import ADMIN, ALICE, BOB, CHANNEL, roots, seen, settle

BOT = "UVIDEOBOT"  # the stand-in's bot user


def thread_of(slack, message) -> list[str]:
    """The ts of every message in the thread of `message` (bot notes and cards included)."""
    return [m.ts for m in slack.thread(CHANNEL, message.ts)]


@pytest.fixture
def picture(tmp_path) -> Path:
    path = tmp_path / "holiday.png"
    Image.new("RGB", (320, 200), (200, 120, 40)).save(path)
    return path


@pytest.fixture
def videobot(start_app):
    return start_app(channel_pictures="mention", admins=frozenset({ADMIN}))


def test_a_picture_posted_in_a_channel_without_a_mention_is_left_to_the_people_there(
    slack, videobot, alice, picture
):
    shared = slack.share_file(CHANNEL, picture, user=ALICE, text="our holiday!")
    settle()
    assert thread_of(slack, shared) == [shared.ts]
    assert videobot.store.get_session(CHANNEL, shared.ts) is None
    assert alice.ephemerals() == []


def test_a_picture_shared_with_the_bot_mentioned_gets_a_draft(slack, videobot, alice, picture):
    shared = slack.share_file(CHANNEL, picture, user=ALICE, text=f"<@{BOT}> the kites fly higher")
    card = alice.draft_card(shared.ts)
    assert "animates the shared picture" in seen(card)
    assert "Kites fly higher" in seen(card) or "kites fly higher" in seen(card)


def reacted_thread(slack, what: str = "picture"):
    """The thread the bot opened for a 🎬 on someone else's message."""
    return slack.wait_until(
        lambda: next((m for m in roots(slack) if f"asked for a video of the {what}" in m.text), None),
        what="the bot's thread for the 🎬",
    )


def test_a_clapper_on_a_picture_starts_a_session_for_whoever_reacted(slack, videobot, alice, bob, picture):
    shared = slack.share_file(CHANNEL, picture, user=ALICE, text="the waves roll in")
    assert slack.react(shared, "clapper", user=BOB).status == 200
    root = reacted_thread(slack)
    assert root.text == "🎬 <@UBOB> asked for a video of the picture <@UALICE> shared"
    card = bob.draft_card(root)
    assert "animates the shared picture" in seen(card) and "The waves roll in." in seen(card)
    assert videobot.store.get_session(CHANNEL, root.ts).owner == BOB
    assert slack.calls("conversations.history")  # the picture was read back from Slack
    bob.reply(root, "make the boats bob gently")  # the reactor's replies reach the bot: the thread is its own
    assert "Make the boats bob gently" in seen(bob.draft_card(root, revision=2))


def test_a_clapper_on_your_own_picture_answers_in_its_thread(slack, videobot, alice, picture):
    shared = slack.share_file(CHANNEL, picture, user=ALICE, text="the waves roll in")
    slack.react(shared, "clapper", user=ALICE)
    assert "animates the shared picture" in seen(alice.draft_card(shared.ts))
    alice.reply(shared, "make the boats bob gently")
    assert "Make the boats bob gently" in seen(alice.draft_card(shared.ts, revision=2))


def test_a_second_clapper_doesnt_start_a_second_session(slack, videobot, alice, bob, picture):
    shared = slack.share_file(CHANNEL, picture, user=ALICE)
    slack.react(shared, "clapper", user=BOB)
    bob.draft_card(reacted_thread(slack))
    slack.react(shared, "clapper", user=ADMIN)
    settle()
    assert len([m for m in roots(slack) if "asked for a video" in m.text]) == 1


def test_other_reactions_and_a_clapper_on_words_do_nothing(slack, videobot, alice, bob, picture):
    shared = slack.share_file(CHANNEL, picture, user=ALICE)
    words = slack.say(CHANNEL, "what a day", user=ALICE)
    slack.react(shared, "tada", user=BOB)
    slack.react(words, "clapper", user=BOB)
    settle()
    assert thread_of(slack, shared) == [shared.ts] and thread_of(slack, words) == [words.ts]


def test_a_picture_in_a_direct_message_needs_no_mention(slack, videobot, alice, picture):
    dm = slack.dm_channel(ALICE)
    shared = slack.share_file(dm, picture, user=ALICE)
    assert "animates the shared picture" in seen(alice.draft_card(shared.ts, channel=dm))


def test_a_picture_shared_into_a_sessions_thread_needs_no_mention(slack, videobot, alice, picture):
    root = alice.video("a harbour at dawn")
    alice.draft_card(root)
    slack.share_file(CHANNEL, picture, user=ALICE, thread_ts=root.ts, text="make the boats bob")
    assert "animates the shared picture" in seen(alice.draft_card(root, revision=2))


def test_an_admin_makes_a_channel_take_every_picture(slack, videobot, alice, picture):
    answer = slack.slash_command("/video", "channel pictures all", user=ADMIN, channel=CHANNEL)
    assert answer.status == 200
    told = slack.wait_until(
        lambda: next((m.text for m in slack.ephemerals(ADMIN) if "From now on" in m.text), None),
        what="the admin's answer",
    )
    assert "every picture or video shared in" in told
    shared = slack.share_file(CHANNEL, picture, user=ALICE)
    assert "animates the shared picture" in seen(alice.draft_card(shared.ts))

    slack.slash_command("/video", "channel pictures mention", user=ADMIN, channel=CHANNEL)
    slack.wait_until(
        lambda: next((m for m in slack.ephemerals(ADMIN) if "only when I'm mentioned" in m.text), None),
        what="the admin's second answer",
    )
    quiet = slack.share_file(CHANNEL, picture, user=ALICE)
    settle()
    assert thread_of(slack, quiet) == [quiet.ts]


def test_only_an_admin_may_choose_which_pictures_a_channel_gives_the_bot(slack, videobot, bob, picture):
    slack.slash_command("/video", "channel pictures all", user=BOB, channel=CHANNEL)
    assert "Only an admin of videobot" in bob.told("Only an admin")
    shared = slack.share_file(CHANNEL, picture, user=BOB)
    settle()
    assert thread_of(slack, shared) == [shared.ts]


def test_a_mistyped_channel_setting_says_what_to_type(slack, videobot, bob):
    answer = slack.slash_command("/video", "channel pictures sometimes", user=BOB, channel=CHANNEL)
    assert "`/video channel pictures all`" in answer.text


def test_the_workspace_default_can_be_every_picture(slack, start_app, alice, picture):
    start_app(channel_pictures="all")
    shared = slack.share_file(CHANNEL, picture, user=ALICE)
    assert "animates the shared picture" in seen(alice.draft_card(shared.ts))
