"""`/video` flags as phones and Macs type them: smart dashes (`—seed`) and smart quotes are what the
person meant; a value given to a switch (`--draft=false`) is refused with a sentence, never silently
turned around. Each through the real app, with signed commands."""

from __future__ import annotations

import json

import pytest

from tests.bot.conftest import ALICE, CHANNEL, roots, seen, settle, thread_text


def test_smart_dashes_are_read_as_flags(slack, videobot, alice):
    root = alice.video("a red fox —seed 7 –frames 9 ‐‐draft")  # em dash, en dash, Unicode hyphens
    card = seen(alice.draft_card(root))
    assert "seed 7" in card and "9 frames" in card and "draft quality" in card
    assert videobot.store.get_session(CHANNEL, root.ts).idea == "a red fox"


def test_a_flag_in_capitals_is_still_a_flag(slack, videobot, alice):
    root = alice.video("a red fox --Seed 7 --frames 9")
    assert "seed 7" in seen(alice.draft_card(root))


@pytest.mark.parametrize("switch", ["--draft=false", "—draft=true", "--draft false"])
def test_a_value_on_the_draft_switch_is_refused_with_a_sentence(slack, videobot, alice, switch):
    answer = slack.slash_command("/video", f"a red fox {switch} --frames 9", user=ALICE, channel=CHANNEL)
    assert answer.status == 200
    note = alice.told("`--draft` is a switch")
    assert "leave out" in note and "Add `--draft` for a quick preview" in note
    settle()
    assert roots(slack) == []  # nothing started


@pytest.mark.parametrize(
    "quoted", ["“blurry, dark”", "‘blurry, dark’", '"blurry, dark"', "'blurry, dark'", "=“blurry, dark”"]
)
def test_quotes_straight_or_smart_hold_a_negative_prompt(slack, videobot, alice, quoted):
    flag = f"--negative{quoted}" if quoted.startswith("=") else f"--negative {quoted}"
    root = alice.video(f"a fox’s den at dusk {flag} --frames 9")
    assert "Avoiding: blurry, dark" in seen(alice.draft_card(root))
    assert videobot.store.get_session(CHANNEL, root.ts).idea == "a fox’s den at dusk"


def test_a_negative_prompt_with_an_ampersand_shows_as_typed(slack, videobot, alice):
    root = alice.video('a fox --negative "rain & fog" --frames 9')
    card = alice.draft_card(root)
    # Shown as typed, whether the card escapes it once for mrkdwn or shows it as plain_text
    assert "Avoiding: rain & fog" in seen(card) and "Avoiding: rain & fog" in thread_text(slack, root)
    assert "&amp;amp;" not in json.dumps(card.blocks)
    assert videobot.store.get_session(CHANNEL, root.ts).draft.negative_prompt == "rain & fog"
