"""The settings modal's submission read on its own (within the 3-second ack): options or errors per field."""

from __future__ import annotations

import json

import pytest

from bot.conversation.limits import Limits
from bot.conversation.sessions import DraftOptions, new_draft, set_draft, start_session
from bot.slack.blocks import settings_view
from bot.slack.forms import SettingsInvalid, read_settings


def submitted(changes=None, *, model="cogvideox-2b", quality="final"):
    session = start_session(channel="C1", thread_ts="1.000001", owner="U1", idea="a fox", now=0)
    draft = new_draft(
        DraftOptions(quality=quality), prompt="A fox.", default_model=model, seed=5, refined_by="x"
    )
    view = settings_view(set_draft(session, draft, now=1), Limits())
    values = {}
    for block in view["blocks"]:
        if block["type"] != "input":
            continue
        element = block["element"]
        entry = {"type": element["type"]}
        if "initial_option" in element:
            entry["selected_option"] = element["initial_option"]
        else:
            entry["value"] = element.get("initial_value")
        values[block["block_id"]] = {element["action_id"]: entry}
    for block_id, value in (changes or {}).items():
        entry = next(iter(values[block_id].values()))
        entry["selected_option" if "selected_option" in entry else "value"] = value
    return {**view, "state": {"values": values}}


def test_an_untouched_form_gives_back_the_same_draft():
    edited = read_settings(submitted(), Limits())
    assert (edited.channel, edited.thread_ts, edited.revision) == ("C1", "1.000001", 1)
    assert (edited.options.seed, edited.options.num_inference_steps, edited.options.quality) == (
        5,
        50,
        "final",
    )


def test_steps_left_as_they_were_follow_a_change_of_quality():
    edited = read_settings(submitted({"quality": {"value": "draft"}}), Limits())
    assert edited.options.num_inference_steps is None  # the model's draft steps then apply


def test_every_problem_is_keyed_to_its_input():
    with pytest.raises(SettingsInvalid) as raised:
        read_settings(submitted({"seed": "-1", "guidance": "abc", "length": "0.1"}), Limits())
    assert set(raised.value.errors) == {"seed", "guidance", "length"}


def test_a_model_of_the_wrong_kind_is_refused():
    form = submitted()
    form["state"]["values"]["model"]["model"]["selected_option"] = {"value": "cogvideox-5b-i2v"}
    with pytest.raises(SettingsInvalid) as raised:
        read_settings(form, Limits())
    assert "can't render this session" in raised.value.errors["model"]


def test_a_form_without_its_draft_has_expired():
    form = {**submitted(), "private_metadata": json.dumps({"c": "C1"})}
    with pytest.raises(SettingsInvalid, match="expired"):
        read_settings(form, Limits())
