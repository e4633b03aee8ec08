"""Replies in a session's thread refine it only when they come from its owner (or an admin), where
videos are allowed, and not faster than the workspace allows; everyone else's words leave the draft
alone."""

from __future__ import annotations

from dataclasses import replace

from bot.blocks import GENERATE
from tests.bot.conftest import ADMIN, CHANNEL, Person, limits, settle


def revision(services, root):
    return services.store.get_session(CHANNEL, root.ts).draft.revision


def test_someone_elses_reply_leaves_the_draft_alone(slack, videobot, alice, bob):
    root = alice.video("a fox in the snow")
    card = alice.draft_card(root)
    bob.reply(root, "make it a wolf instead")
    bob.told("only they (or an admin) can change it")
    settle()
    assert revision(videobot, root) == 1
    assert GENERATE in slack.message(CHANNEL, card.ts).action_ids()  # her card is still live
    assert "wolf" not in videobot.store.get_session(CHANNEL, root.ts).draft.prompt


def test_someone_else_replying_often_is_told_once_whose_video_it_is(slack, videobot, alice, bob):
    root = alice.video("a fox in the snow")
    alice.draft_card(root)
    for n in range(3):
        bob.reply(root, f"idea number {n}")
    bob.told("only they (or an admin) can change it")
    settle()
    assert sum("only they (or an admin)" in note for note in bob.ephemerals()) == 1
    assert revision(videobot, root) == 1


def test_an_admin_refines_someone_elses_video_by_replying(slack, start_app, alice):
    start_app(admins=frozenset({ADMIN}))
    root = alice.video("a fox in the snow")
    alice.draft_card(root)
    Person(slack, ADMIN).reply(root, "make it night")
    Person(slack, ADMIN).draft_card(root, revision=2)


def test_replies_in_a_channel_no_longer_allowed_dont_refine(slack, start_app, alice):
    services = start_app()
    root = alice.video("a fox in the snow")
    alice.draft_card(root)
    services.settings = replace(services.settings, limits=limits(allowed_channels=frozenset({"COTHER"})))
    alice.reply(root, "make it night")
    assert "I don't make videos in this conversation" in alice.told("I don't make videos")
    settle()
    assert revision(services, root) == 1


def test_refining_faster_than_the_workspace_allows_gets_a_polite_note(slack, start_app, alice):
    services = start_app(limits=limits(refines_per_minute=2))
    root = alice.video("a fox in the snow")
    alice.draft_card(root)
    alice.reply(root, "make it night")
    alice.draft_card(root, revision=2)
    alice.reply(root, "slower camera")
    alice.draft_card(root, revision=3)
    alice.reply(root, "add fog")
    assert "Please wait a moment, then reply again." in alice.told("in the last minute")
    settle()
    assert revision(services, root) == 3
