"""The registry holds every CogVideoX variant with its real rules; the bot validates against it."""

from __future__ import annotations

import pytest

from processing_job.models import REGISTRY, UnknownModelError, image_model_for, resolve_model
from processing_job.spec import JobSpec, SpecError


def problems(model: str, **values) -> str:
    with pytest.raises(SpecError) as caught:
        JobSpec.create(job_id="j", model=model, prompt="a corgi", seed=1, **values)
    return " ".join(caught.value.problems)


@pytest.mark.parametrize("info", REGISTRY.values(), ids=list(REGISTRY))
def test_every_default_spec_is_valid_and_drafts_take_fewer_steps(info):
    spec = JobSpec.create(
        job_id="j", model=info.key, prompt="a corgi", seed=1, image="p.png" if info.mode == "i2v" else None
    )
    assert (spec.height, spec.width, spec.num_frames, spec.fps) == (
        info.height,
        info.width,
        info.num_frames,
        info.fps,
    )
    assert info.draft_steps is not None and 1 <= info.draft_steps < info.num_inference_steps


@pytest.mark.parametrize(
    ("model", "image_model"),
    [
        ("tiny", "tiny-i2v"),
        ("tiny-1.5", "tiny-1.5-i2v"),
        ("2b", "cogvideox-5b-i2v"),
        ("5b", "cogvideox-5b-i2v"),
        ("1.5", "cogvideox1.5-5b-i2v"),
        ("5b-i2v", "cogvideox-5b-i2v"),
    ],
)
def test_a_picture_goes_to_the_image_model_of_the_family(model, image_model):
    info = image_model_for(model)
    assert info.key == image_model and info.mode == "i2v" and info.pipeline == "CogVideoXImageToVideoPipeline"


def test_the_real_models_have_their_published_rules():
    two, five, five_i2v = resolve_model("2b"), resolve_model("5b"), resolve_model("5b-i2v")
    assert (two.dtype, five.dtype, five_i2v.dtype) == ("float16", "bfloat16", "bfloat16")
    assert five_i2v.hub_id == "THUDM/CogVideoX-5b-I2V" and five_i2v.sizes == ((480, 720),)
    one_five = resolve_model("1.5")
    assert (one_five.hub_id, one_five.num_frames, one_five.fps) == ("THUDM/CogVideoX1.5-5B", 81, 16)
    assert (one_five.height, one_five.width, one_five.max_frames) == (768, 1360, 161)
    assert resolve_model("THUDM/CogVideoX1.5-5B-I2V").key == "cogvideox1.5-5b-i2v"


def test_1_0_frames_are_8n_plus_1_and_1_5_frames_16n_plus_1():
    assert "8N+1 frames" in problems("5b", num_frames=50)
    assert "16N+1 frames between 17 and 161" in problems("1.5", num_frames=41)
    assert JobSpec.create(job_id="j", model="1.5", prompt="x", seed=1, num_frames=161).num_frames == 161


def test_1_5_takes_portrait_and_other_sizes_with_a_768_side_but_never_2400():
    JobSpec.create(job_id="j", model="1.5", prompt="x", seed=1, height=1360, width=768)  # portrait
    JobSpec.create(job_id="j", model="1.5-i2v", prompt="x", seed=1, image="p.png", height=768, width=1024)
    assert "sides up to 1360 pixels, not 2400" in problems("1.5", height=768, width=2400)
    assert "shorter side of 768 pixels, not 480" in problems("1.5", height=480, width=720)


def test_5b_image_to_video_renders_at_720_by_480_only():
    assert "renders at 720×480 (width×height), not 480×720" in problems(
        "5b-i2v", image="p.png", height=720, width=480
    )


def test_a_pictures_shape_picks_the_closest_allowed_size():
    one_five = resolve_model("1.5-i2v")
    assert one_five.size_for_aspect(4000, 3000) == (768, 1024)  # 4:3 landscape
    assert one_five.size_for_aspect(1080, 1920) == (1360, 768)  # a phone's portrait
    assert resolve_model("5b-i2v").size_for_aspect(1080, 1920) == (480, 720)  # one size only
    assert resolve_model("tiny-1.5-i2v").size_for_aspect(300, 500) == (160, 96)


def test_a_model_without_an_image_variant_says_so():
    with pytest.raises(UnknownModelError, match="I don't know the model '9b'"):
        image_model_for("9b")
