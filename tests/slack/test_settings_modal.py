"""⚙️ Settings on a draft card: a modal with the draft's values, validated, written back to the card."""

from __future__ import annotations

from bot.slack.blocks import GENERATE, OPEN_SETTINGS, SECONDS_INPUT, SEED_INPUT, STEPS_INPUT
from tests.conftest import CHANNEL, limits, seen


def open_settings(slack, person, card):
    person.click(card, OPEN_SETTINGS)
    return slack.wait_until(
        lambda: next((v for v in slack.views if v.open and v.user == person.user), None), what="the modal"
    )


def value_of(view, block_id):
    block = next(b for b in view.view["blocks"] if b.get("block_id") == block_id)
    element = block["element"]
    return element.get("initial_value") or (element.get("initial_option") or {}).get("value")


def test_settings_opens_a_modal_filled_in_with_the_draft(slack, videobot, alice):
    root = alice.video("a fox --seed 42 --draft")
    view = open_settings(slack, alice, alice.draft_card(root))
    assert view.title == "Video settings"
    assert value_of(view, "seed") == "42"
    assert value_of(view, "length") == "6"
    assert value_of(view, "quality") == "draft"
    assert value_of(view, "model") == "tiny"


def test_saved_settings_are_written_back_to_the_same_card_as_a_new_draft(slack, videobot, alice):
    root = alice.video("a fox --seed 42")
    card = alice.draft_card(root)
    view = open_settings(slack, alice, card)
    answer = slack.submit_view(view.id, {"seed": {"seed": "7"}, "length": {"seconds": "2"}}, user="UALICE")
    assert answer.status == 200 and not slack.view(view.id).open
    updated = alice.draft_card(root, revision=2)
    assert updated.ts == card.ts
    assert "seed 7" in seen(updated) and "17 frames" in seen(updated)
    assert "Settings changed by <@UALICE>" in updated.text + str(updated.blocks)
    assert updated.action_ids()[0] == GENERATE


def test_switching_to_draft_quality_lowers_the_steps_left_untouched(slack, videobot, alice):
    root = alice.video("a fox")
    view = open_settings(slack, alice, alice.draft_card(root))
    slack.submit_view(view.id, {"quality": {"quality": "draft"}}, user="UALICE")
    card = alice.draft_card(root, revision=2)
    assert "2 steps" in seen(card) and "draft quality" in seen(card)


def test_a_value_out_of_range_is_shown_on_the_modal_and_changes_nothing(slack, videobot, alice):
    root = alice.video("a fox")
    card = alice.draft_card(root)
    view = open_settings(slack, alice, card)
    slack.submit_view(view.id, {STEPS_INPUT[0]: {STEPS_INPUT[1]: "500"}}, user="UALICE")
    shown = slack.view(view.id)
    assert shown.open and "number of steps must be between 1 and 50" in shown.errors["steps"]
    assert slack.message(CHANNEL, card.ts).text == card.text


def test_a_length_the_model_cant_render_is_shown_under_the_length(slack, start_app, alice):
    start_app(limits=limits(max_seconds=20.0))
    root = alice.video("a fox")
    view = open_settings(slack, alice, alice.draft_card(root))
    slack.submit_view(view.id, {SECONDS_INPUT[0]: {SECONDS_INPUT[1]: "12"}}, user="UALICE")
    assert slack.view(view.id).errors["length"] == (
        "tiny CogVideoX (random weights, offline test model) renders clips of up to 6 seconds, not 12."
    )


def test_only_the_owner_gets_the_settings(slack, videobot, alice, bob):
    root = alice.video("a fox")
    bob.click(alice.draft_card(root), OPEN_SETTINGS)
    bob.told("Only <@UALICE>")
    assert slack.views == []


def test_a_settings_click_that_cant_open_in_time_is_explained(slack, videobot, alice):
    root = alice.video("a fox")
    slack.inject("views.open", error="expired_trigger_id")
    alice.click(alice.draft_card(root), OPEN_SETTINGS)
    alice.told("couldn't open the settings in time")


def test_the_seed_field_refuses_words(slack, videobot, alice):
    root = alice.video("a fox")
    view = open_settings(slack, alice, alice.draft_card(root))
    slack.submit_view(view.id, {SEED_INPUT[0]: {SEED_INPUT[1]: "lucky"}}, user="UALICE")
    assert slack.view(view.id).errors == {"seed": "The seed must be a whole number."}


def test_the_draft_card_says_how_long_the_render_will_take(slack, videobot, alice):
    card = alice.draft_card(alice.video("a fox"))
    assert "⏱️ Rendering takes ≈" in seen(card) and "on this machine" in seen(card)


def test_switching_to_draft_quality_changes_the_time_the_card_predicts(slack, videobot, alice):
    root = alice.video("a fox --seed 42")
    card = alice.draft_card(root)
    view = open_settings(slack, alice, card)
    slack.submit_view(view.id, {"quality": {"quality": "draft"}}, user="UALICE")
    updated = alice.draft_card(root, revision=2)
    line = next(line for line in seen(updated).splitlines() if "Rendering takes" in line)
    assert line != next(line for line in seen(card).splitlines() if "Rendering takes" in line)
