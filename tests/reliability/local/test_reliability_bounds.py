"""Prompts and flags are bounded: what is too long or out of range is refused in the ack, privately,
with what the limit is, and nothing starts."""

from __future__ import annotations

from tests.conftest import ALICE, CHANNEL, roots, settle
from tests.reliability.ledger import InputCase

TOO_MUCH = {
    "a 5,000-character request": ("a fox " * 834, "please keep a request under 4000"),
    "a 2,100-character idea": ("x" * 2100, "please keep it under 2000"),
    "a 2,100-character negative prompt": (
        'a fox --negative "' + "y" * 2100 + '"',
        "negative prompt must be under",
    ),
    "a seed of 2^40": ("a fox --seed 1099511627776", "`--seed` must be between 0 and"),
    "1000 steps": ("a fox --steps 1000", "`--steps` must be between 1 and"),
    "100,000 frames": ("a fox --frames 100000", "`--frames` must be between 1 and 1000"),
    "an hour-long clip": ("a fox --seconds 3600", "`--seconds` must be between 0.5 and 60"),
    "guidance of 1e308": ("a fox --guidance 1e308", "`--guidance` must be between 0 and 20"),
    "a NUL in the idea": ("a fox\x00 in the snow", "NUL"),
}


def test_oversized_prompts_and_flags_are_refused_in_the_ack(slack, videobot, alice, ledger):
    answered = 0
    for text, words in TOO_MUCH.values():
        response = slack.slash_command("/video", text, user=ALICE, channel=CHANNEL)
        answered += response.status == 200 and words in alice.ephemerals()[-1]
    settle()
    ledger.input(
        InputCase(
            "Hostile input",
            "prompts and flags too long or out of range (9 kinds)",
            tried=len(TOO_MUCH),
            answered=answered,
            failures=len(TOO_MUCH) - answered,
            changed=len(roots(slack)),
            note="refused in the ack, privately, with the limit; nothing starts",
        )
    )
    assert answered == len(TOO_MUCH)
    assert roots(slack) == []
