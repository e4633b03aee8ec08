"""A prompt people write themselves: `/video --exact "…"` skips the rewriting, Settings edits the prompt
itself; both are checked against the model's limits, and the content policy still judges them."""

from __future__ import annotations

from bot.adapters.content_guard.local import LocalContentGuard
from bot.slack.blocks import OPEN_SETTINGS, PROMPT_INPUT
from tests.conftest import ALICE, CHANNEL, roots, seen, settle, thread_text

EXACT = "A fox sits still in fresh snow, seen from the side."


def open_settings(slack, person, card):
    person.click(card, OPEN_SETTINGS)
    return slack.wait_until(
        lambda: next((v for v in slack.views if v.open and v.user == person.user), None), what="the modal"
    )


def test_an_exact_prompt_is_used_as_typed(slack, videobot, alice):
    root = alice.video(f'--exact "{EXACT}" --frames 9')
    card = alice.draft_card(root)
    assert videobot.store.get_session(CHANNEL, root.ts).draft.prompt == EXACT
    assert "Written by you. Used exactly as you typed it" in seen(card)
    assert "lifelike detail" not in seen(card)  # nothing the prompt writer would have added


def test_an_exact_prompt_longer_than_the_model_reads_is_refused_with_how_much_to_cut(slack, videobot, alice):
    words = " ".join(["snow"] * 200)
    slack.slash_command("/video", f'--exact "{words}"', user=ALICE, channel=CHANNEL)
    note = alice.told("The prompt is 200 words")
    assert "reads only 226 tokens (about 169 words): please cut it by 31 words or more." in note
    settle()
    assert roots(slack) == []


def test_the_content_policy_still_judges_an_exact_prompt(slack, videobot, alice):
    videobot.guard = LocalContentGuard(["wolf"])
    root = alice.video('--exact "A wolf howls at the moon."')
    slack.wait_until(lambda: "🙅" in thread_text(slack, root), what="the refusal")
    assert videobot.store.get_session(CHANNEL, root.ts).draft is None


def test_settings_edits_the_prompt_itself(slack, videobot, alice):
    root = alice.video("a fox --frames 9")
    view = open_settings(slack, alice, alice.draft_card(root))
    prompt = next(b for b in view.view["blocks"] if b.get("block_id") == PROMPT_INPUT[0])
    assert prompt["element"]["multiline"] is True
    assert prompt["element"]["initial_value"] == videobot.store.get_session(CHANNEL, root.ts).draft.prompt
    slack.submit_view(view.id, {PROMPT_INPUT[0]: {PROMPT_INPUT[1]: EXACT}}, user=ALICE)
    card = alice.draft_card(root, revision=2)
    assert EXACT in seen(card) and "Written by you" in seen(card)


def test_a_prompt_too_long_in_settings_is_explained_under_it(slack, videobot, alice):
    root = alice.video("a fox --frames 9")
    view = open_settings(slack, alice, alice.draft_card(root))
    words = " ".join(["snow"] * 200)
    slack.submit_view(view.id, {PROMPT_INPUT[0]: {PROMPT_INPUT[1]: words}}, user=ALICE)
    shown = slack.view(view.id)
    assert shown.open and "The prompt is 200 words" in shown.errors[PROMPT_INPUT[0]]


def test_an_emptied_prompt_in_settings_is_explained_under_it(slack, videobot, alice):
    root = alice.video("a fox --frames 9")
    view = open_settings(slack, alice, alice.draft_card(root))
    slack.submit_view(view.id, {PROMPT_INPUT[0]: {PROMPT_INPUT[1]: "   "}}, user=ALICE)
    assert "can't be empty" in slack.view(view.id).errors[PROMPT_INPUT[0]]
