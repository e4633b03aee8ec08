"""👍 / 👎 under each video: recorded with the render's parameters, one vote per person per render (a
second click changes it), and summed for admins in `/video status`."""

from __future__ import annotations

import pytest

from bot.slack.blocks import FEEDBACK_DOWN, FEEDBACK_UP, GENERATE
from tests.conftest import ADMIN, ALICE, BOB, CHANNEL, FAST, Person, message_with, video_in_thread


@pytest.fixture
def videobot(start_app):
    return start_app(admins=frozenset({ADMIN}))


def rendered(slack, alice, text=f"a fox {FAST} --seed 5"):
    root = alice.video(text)
    alice.click(alice.draft_card(root), GENERATE)
    video_in_thread(slack, root)
    return root, message_with(slack, root, FEEDBACK_UP)


def test_a_vote_is_recorded_with_the_renders_parameters(slack, videobot, alice):
    _, result = rendered(slack, alice)
    alice.click(result, FEEDBACK_UP)
    alice.told("👍 noted for this video")
    [vote] = videobot.store.feedback_since(0.0)
    assert (vote.user, vote.vote) == (ALICE, "up")
    assert vote.parameters == {
        "model": "tiny",
        "quality": "final",
        "steps": 4,
        "seed": 5,
        "mode": "t2v",
        "size": "192×128",
        "stages": [],
    }


def test_a_second_click_changes_the_vote_and_everyone_has_one(slack, videobot, alice, bob):
    _, result = rendered(slack, alice)
    alice.click(result, FEEDBACK_UP)
    alice.click(result, FEEDBACK_DOWN)
    bob.click(result, FEEDBACK_UP)
    bob.told("👍 noted")
    alice.told("👎 noted")
    votes = sorted((f.user, f.vote) for f in videobot.store.feedback_since(0.0))
    assert votes == [(ALICE, "down"), (BOB, "up")]


def test_admins_see_the_votes_summed_in_video_status(slack, videobot, alice, bob):
    _, result = rendered(slack, alice)
    alice.click(result, FEEDBACK_UP)
    bob.click(result, FEEDBACK_DOWN)
    bob.told("👎 noted")
    slack.slash_command("/video", "status", user=ADMIN, channel=CHANNEL)
    status = Person(slack, ADMIN).told("Feedback on videos")
    assert "tiny CogVideoX (random weights, offline test model), final quality: 👍 1 · 👎 1" in status


def test_people_who_arent_admins_dont_see_the_votes(slack, videobot, alice):
    slack.slash_command("/video", "status", user=ALICE, channel=CHANNEL)
    assert "Feedback on videos" not in alice.told("Your renders in the last 24 hours")
