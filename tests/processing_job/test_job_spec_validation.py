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


@pytest.fixture
def wan(make_spec) -> dict:
    return make_spec(model="tiny-wan", num_frames=9).to_dict()


@pytest.mark.parametrize(
    ("changes", "sentence"),
    [
        ({"mode": "v2v"}, "Video-to-video needs a video."),
        ({"mode": "extend"}, "Extend needs a video."),
        (
            {"mode": "t2v", "video": "clip.mp4"},
            "Only video-to-video, extend and post-processing take a video; text-to-video doesn't.",
        ),
        ({"mode": "stages", "interpolate": 2}, "Post-processing needs a video."),
        (
            {"mode": "stages", "video": "clip.mp4"},
            "Post-processing needs a stage: smoothing (interpolate 2 or 3) or upscaling (2 or 4).",
        ),
        (
            {"mode": "v2v", "video": "clip.mp4", "image": "p.png"},
            "Only image-to-video takes an image; video-to-video doesn't.",
        ),
        ({"strength": 0.5}, "Only video-to-video takes a strength; text-to-video doesn't."),
        (
            {"mode": "v2v", "video": "clip.mp4", "strength": 1.5},
            "The strength must be above 0 and at most 1, not 1.5.",
        ),
        (
            {"mode": "v2v", "video": "../clip.mp4"},
            "The video must be a plain file name inside the job's input folder.",
        ),
        ({"clips": ["a.mp4", "b.mp4"]}, "Only a join takes clips; text-to-video doesn't."),
        ({"mode": "join", "clips": ["a.mp4"]}, "A join needs at least two clips, not 1."),
        ({"crossfade_s": 0.5}, "Only a join takes a crossfade; text-to-video doesn't."),
        ({"interpolate": 4}, "Smoothing makes 1, 2 or 3 times the frames, not 4."),
        ({"upscale": 3}, "Upscaling makes the video 1, 2 or 4 times larger, not 3."),
    ],
)
def test_each_invalid_combination_is_a_sentence(wan, changes, sentence):
    assert sentence in problems_of({**wan, **changes})


def test_a_model_without_image_to_video_cant_extend(good):
    message = problems_of(
        {
            **good,
            "model": "wan2.1-1.3b",
            "height": 480,
            "width": 832,
            "num_frames": 81,
            "mode": "extend",
            "video": "clip.mp4",
        }
    )
    assert "Wan 2.1 T2V-1.3B can't extend a clip (it has no image-to-video mode)." in message


def test_a_cogvideox_image_model_cant_restyle_a_video(good):
    message = problems_of(
        {**good, "model": "tiny-i2v", "height": 128, "width": 192, "mode": "v2v", "video": "c.mp4"}
    )
    assert "can't restyle a video" in message


def test_a_join_needs_no_prompt(make_spec):
    spec = make_spec(mode="join", prompt="", clips=["a.mp4", "b.mp4"], crossfade_s=0.5)
    assert spec.clips == ("a.mp4", "b.mp4") and JobSpec.from_json(spec.to_json()) == spec


def test_a_version_1_spec_is_read_and_its_speed_is_the_quality(good):
    old = {
        k: v
        for k, v in good.items()
        if k
        in {
            "job_id",
            "model",
            "prompt",
            "num_frames",
            "height",
            "width",
            "fps",
            "num_inference_steps",
            "guidance_scale",
            "seed",
            "mode",
            "negative_prompt",
            "image",
        }
    }
    spec = JobSpec.from_dict({**old, "version": 1, "speed": "draft"})
    assert spec.quality == "draft" and spec.speed == "draft"
    assert spec.version == 2 and JobSpec.from_json(spec.to_json()) == spec  # it writes itself as v2


def test_a_version_1_spec_cant_carry_version_2_fields(good):
    old = {
        k: v
        for k, v in good.items()
        if k not in {"quality", "video", "strength", "interpolate", "upscale", "clips", "crossfade_s"}
    }
    assert "unknown field 'upscale'" in problems_of({**old, "version": 1, "upscale": 2})


def test_version_2_names_it_quality_and_keeps_speed_beside_it_for_old_readers(good):
    assert good["version"] == 2 and good["quality"] == good["speed"] == "final"
    assert "the two disagree" in problems_of({**good, "speed": "draft"})
    alone = {k: v for k, v in good.items() if k != "quality"}
    assert JobSpec.from_dict({**alone, "speed": "draft"}).quality == "draft"


def test_an_unknown_version_is_refused(good):
    assert "spec versions 1 or 2, not 3" in problems_of({**good, "version": 3})


def test_the_bots_speed_keyword_still_makes_a_spec(make_spec):
    assert make_spec(speed="draft").quality == "draft"
