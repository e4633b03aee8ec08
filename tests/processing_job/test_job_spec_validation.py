"""A bad spec is refused with a sentence that says what to change."""

from __future__ import annotations

import json

import pytest

from processing_job.spec import MAX_PROMPT_CHARS, JobSpec, SpecError


def problems_of(data: dict) -> str:
    with pytest.raises(SpecError) as caught:
        JobSpec.from_dict(data)
    return " ".join(caught.value.problems)


@pytest.fixture
def good(make_spec) -> dict:
    return make_spec().to_dict()


def test_a_valid_spec_round_trips_through_json(make_spec):
    spec = make_spec()
    assert JobSpec.from_json(spec.to_json()) == spec


def test_a_frame_count_that_is_not_8n_plus_1_names_the_rule(good):
    message = problems_of({**good, "num_frames": 10})
    assert "8N+1 frames" in message and "not 10" in message


def test_a_size_not_divisible_by_16_names_the_multiple(good):
    message = problems_of({**good, "width": 100})
    assert "width must be a positive multiple of 16 pixels, not 100" in message


def test_an_unknown_model_lists_the_choices(good):
    message = problems_of({**good, "model": "cogvideox-9b"})
    assert "I don't know the model 'cogvideox-9b'" in message and "2b" in message


def test_an_empty_prompt_asks_for_a_description(good):
    assert "The prompt is empty" in problems_of({**good, "prompt": "   "})


def test_an_over_long_prompt_gives_the_limit(good):
    message = problems_of({**good, "prompt": "corgi " * MAX_PROMPT_CHARS})
    assert f"the limit is {MAX_PROMPT_CHARS}" in message


def test_an_unknown_field_is_named(good):
    assert "unknown field 'cfg_scale'" in problems_of({**good, "cfg_scale": 7})


def test_a_wrong_type_names_the_field_and_the_type(good):
    message = problems_of({**good, "num_frames": "49", "seed": True})
    assert "'num_frames' must be int, not str" in message
    assert "'seed' must be int, not bool" in message


def test_text_that_is_not_json_is_refused_plainly():
    with pytest.raises(SpecError, match="not valid JSON"):
        JobSpec.from_json("{not json")


def test_every_problem_is_reported_at_once(good):
    with pytest.raises(SpecError) as caught:
        JobSpec.from_dict({**good, "num_frames": 10, "height": 70, "prompt": ""})
    assert len(caught.value.problems) == 3
    assert json.dumps(caught.value.problems)  # plain strings, ready for a message
