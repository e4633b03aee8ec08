"""Every CogVideoX family renders through the real pipelines and loading code: 1.0 and 1.5, text- and
image-to-video. The job's frames equal a direct diffusers call with the same components, spec and seed."""

from __future__ import annotations

import json

import numpy as np
import pytest

from processing_job import inference
from processing_job.export import probe_video
from processing_job.generate import render
from processing_job.images import prepare_image
from tests.processing_job.conftest import FAMILIES, direct_call

FAMILY_NAMES = list(FAMILIES)


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_each_family_renders_a_video_with_the_frames_size_and_rate_asked(
    family, family_spec, make_job, picture_png
):
    spec = family_spec(family)
    paths = make_job(spec, picture=picture_png)
    assert inference.main(paths) == 0, paths.failure_file.read_text()
    video = probe_video(paths.video_file)
    info = spec.model_info
    assert (video.frames, video.width, video.height) == (spec.num_frames, spec.width, spec.height)
    assert video.fps == info.fps == spec.fps
    result = json.loads(paths.result_file.read_text())
    assert result["parameters"]["pipeline"] == info.pipeline and result["parameters"]["mode"] == info.mode


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_each_familys_frames_equal_a_direct_pipeline_call(family, family_spec, load_tiny, picture_png):
    spec = family_spec(family, negative_prompt="blurry", seed=5)
    loaded = load_tiny(spec.model)
    image = prepare_image(picture_png, spec.height, spec.width) if spec.image else None
    rendered = render(loaded, spec, image=image)
    np.testing.assert_array_equal(rendered.frames, direct_call(loaded, spec, image))


@pytest.mark.parametrize("family", ["1.0 i2v", "1.5 t2v"])
def test_the_same_seed_gives_the_same_frames_in_other_families_too(
    family, family_spec, load_tiny, picture_png
):
    spec = family_spec(family)
    loaded = load_tiny(spec.model)
    image = prepare_image(picture_png, spec.height, spec.width) if spec.image else None
    first = render(loaded, spec, image=image).frames
    again = render(loaded, spec, image=image).frames
    other = render(loaded, spec.with_changes(seed=spec.seed + 1), image=image).frames
    np.testing.assert_array_equal(first, again)
    assert np.abs(first - other).mean() > 1e-4


def test_an_image_model_without_its_picture_fails_with_a_sentence(family_spec, make_job):
    paths = make_job(family_spec("1.0 i2v"))  # the spec names picture.png; the folder lacks it
    assert inference.main(paths) == 1
    assert paths.failure_file.read_text() == "The image picture.png was not found in the job's input folder."


def test_a_picture_is_recorded_in_the_result(family_spec, make_job, picture_png):
    paths = make_job(family_spec("1.5 i2v"), picture=picture_png)
    assert inference.main(paths) == 0
    image = json.loads(paths.result_file.read_text())["image"]
    assert (image["format"], image["width"], image["height"]) == ("PNG", 320, 200)
    assert (image["fitted_width"], image["fitted_height"]) == (160, 96)
