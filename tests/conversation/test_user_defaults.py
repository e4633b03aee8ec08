"""A person's defaults for new videos (the App Home tab's form): what may be chosen, and how a new
session's options take them (what the request says still wins)."""

from __future__ import annotations

import pytest

from bot.conversation.defaults import InvalidDefault, UserDefaults, with_defaults
from bot.conversation.sessions import DraftOptions

MODELS = ("tiny", "tiny-wan")


def test_each_field_takes_only_its_choices():
    chosen = (
        UserDefaults(user="U1")
        .choose("aspect", "9:16", models=MODELS)
        .choose("quality", "draft", models=MODELS)
    )
    assert (chosen.aspect, chosen.quality, chosen.model) == ("9:16", "draft", None)
    for field, value in [("aspect", "4:3"), ("quality", "best"), ("model", "cogvideox-5b"), ("seed", "7")]:
        with pytest.raises(InvalidDefault, match="isn't one of the choices"):
            UserDefaults(user="U1").choose(field, value, models=MODELS)


def test_a_new_session_takes_my_defaults_where_the_request_chose_nothing():
    mine = UserDefaults(user="U1", model="tiny-wan", quality="draft")
    assert with_defaults(DraftOptions(), mine) == DraftOptions(model="tiny-wan", quality="draft")
    assert with_defaults(DraftOptions(model="tiny", quality="final"), mine) == DraftOptions(
        model="tiny", quality="final"
    )


def test_a_default_model_that_no_longer_exists_is_left_to_the_workspace():
    gone = UserDefaults(user="U1", model="retired-model", quality="draft")
    assert with_defaults(DraftOptions(), gone) == DraftOptions(quality="draft")
