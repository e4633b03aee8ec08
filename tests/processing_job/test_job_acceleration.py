"""Draft renders add a diffusers cache for that render only; compile and quantize skip where they can't."""

from __future__ import annotations

import json

import numpy as np
import pytest

from processing_job import inference
from processing_job.acceleration import (
    CACHES,
    DEFAULT_DRAFT_CACHE,
    AccelerationOptions,
    AccelerationSettingError,
    accelerate,
)
from processing_job.generate import render


def test_a_draft_render_uses_the_default_cache_and_says_so(make_job, make_spec):
    paths = make_job(make_spec(quality="draft", num_inference_steps=3))
    assert inference.main(paths) == 0
    result = json.loads(paths.result_file.read_text())
    assert result["quality"] == "draft" and result["acceleration"]["cache"] == DEFAULT_DRAFT_CACHE
    assert result["parameters"]["cache"] == DEFAULT_DRAFT_CACHE


def test_a_final_render_uses_no_cache(make_job, make_spec):
    paths = make_job(make_spec())
    assert inference.main(paths) == 0
    assert json.loads(paths.result_file.read_text())["acceleration"]["cache"] is None


@pytest.mark.parametrize("cache", CACHES)
def test_every_cache_renders_through_the_real_pipeline(cache, tiny_pipeline, make_spec):
    spec = make_spec(quality="draft", num_inference_steps=6)
    rendered = render(tiny_pipeline, spec, acceleration=AccelerationOptions(cache=cache))
    assert rendered.frames.shape == (9, 64, 96, 3) and np.isfinite(rendered.frames).all()
    assert rendered.parameters["cache"] == cache


def test_the_cache_is_gone_after_the_draft(tiny_pipeline, make_spec):
    spec = make_spec(num_inference_steps=6)
    before = render(tiny_pipeline, spec).frames
    render(
        tiny_pipeline,
        spec.with_changes(quality="draft"),
        acceleration=AccelerationOptions(cache=DEFAULT_DRAFT_CACHE),
    )
    assert not tiny_pipeline.pipe.transformer.is_cache_enabled
    np.testing.assert_array_equal(render(tiny_pipeline, spec).frames, before)


def test_the_draft_cache_can_be_chosen_or_turned_off_by_env():
    assert AccelerationOptions.for_quality("draft", {"VIDEOBOT_DRAFT_CACHE": "pab"}).cache == "pab"
    assert AccelerationOptions.for_quality("draft", {"VIDEOBOT_DRAFT_CACHE": "none"}).cache is None
    assert AccelerationOptions.for_quality("final", {"VIDEOBOT_DRAFT_CACHE": "pab"}).cache is None


def test_a_bad_acceleration_setting_fails_the_job_plainly(make_job, make_spec, monkeypatch):
    monkeypatch.setenv("VIDEOBOT_QUANTIZE", "int3")
    paths = make_job(make_spec())
    assert inference.main(paths) == 1
    assert paths.failure_file.read_text() == (
        "The job is misconfigured: VIDEOBOT_QUANTIZE must be one of int8, fp8, not 'int3'."
    )
    with pytest.raises(AccelerationSettingError, match="VIDEOBOT_DRAFT_CACHE must be one of"):
        AccelerationOptions.for_quality("draft", {"VIDEOBOT_DRAFT_CACHE": "teacache"})


def test_compile_and_quantize_are_skipped_on_a_cpu_with_a_note(make_job, make_spec, monkeypatch):
    monkeypatch.setenv("VIDEOBOT_COMPILE", "1")
    monkeypatch.setenv("VIDEOBOT_QUANTIZE", "fp8")
    paths = make_job(make_spec())
    assert inference.main(paths) == 0
    speed = json.loads(paths.result_file.read_text())["acceleration"]
    assert speed["compiled"] is False and speed["quantized"] is None
    assert speed["notes"] == ["torch.compile and torchao quantization need a CUDA GPU: skipped on the CPU."]


def test_nothing_asked_means_nothing_done(tiny_pipeline):
    report = accelerate(tiny_pipeline.pipe, AccelerationOptions(), device="cpu", offload=False)
    assert report.to_dict() == {"cache": None, "compiled": False, "quantized": None, "notes": []}
