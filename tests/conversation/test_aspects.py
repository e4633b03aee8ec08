"""Each model family's shapes (the registry's sizes and side rules), and what a crop cuts (pure)."""

from __future__ import annotations

import pytest

from bot.conversation.sessions import aspect_problem, aspect_size, cropped_share, offered_aspects, ratio_name
from processing_job.models import resolve_model


@pytest.mark.parametrize(
    ("model", "shapes"),
    [
        ("cogvideox-5b", {"16:9": (480, 720)}),
        ("cogvideox1.5-5b", {"16:9": (768, 1360), "9:16": (1360, 768), "1:1": (768, 768)}),
        ("wan2.2-5b", {"16:9": (704, 1280), "9:16": (1280, 704)}),
        ("tiny", {"16:9": (128, 192), "9:16": (192, 128)}),
    ],
)
def test_each_family_offers_the_shapes_its_sizes_allow(model, shapes):
    info = resolve_model(model)
    assert offered_aspects(info) == list(shapes)
    assert {aspect: aspect_size(info, aspect) for aspect in shapes} == shapes
    assert all(info.allows_size(*size) for size in shapes.values())


def test_a_landscape_only_model_says_what_it_renders():
    assert aspect_problem(resolve_model("5b"), "9:16") == (
        "CogVideoX-5B renders landscape (720×480) only, not portrait (9:16)."
    )


def test_a_portrait_phone_photo_in_a_landscape_frame_loses_half_its_height():
    assert cropped_share((600, 800), (720, 480)) == ("height", 0.5)
    assert cropped_share((1920, 1080), (1360, 768))[1] < 0.01


def test_sizes_are_named_by_the_ratio_they_are_close_to():
    assert [ratio_name(720, 480), ratio_name(1360, 768), ratio_name(768, 768), ratio_name(96, 160)] == [
        "3:2",
        "16:9",
        "1:1",
        "3:5",
    ]
