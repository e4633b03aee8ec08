"""A render is the pipeline's own render, in timed phases: same frames, same seed rules."""

from __future__ import annotations

import numpy as np

from processing_job.generate import count_tokens, render
from processing_job.progress import CallbackSink, ProgressReporter
from tests.processing_job.conftest import direct_call


def test_the_phased_render_equals_a_direct_pipeline_call(tiny_pipeline, make_spec):
    spec = make_spec(num_frames=17, negative_prompt="blurry, low quality", seed=7)
    rendered = render(tiny_pipeline, spec)
    assert rendered.frames.shape == (17, 64, 96, 3)
    np.testing.assert_array_equal(rendered.frames, direct_call(tiny_pipeline, spec))


def test_without_guidance_it_still_equals_the_direct_call(tiny_pipeline, make_spec):
    spec = make_spec(guidance_scale=1.0)
    np.testing.assert_array_equal(render(tiny_pipeline, spec).frames, direct_call(tiny_pipeline, spec))


def test_the_same_seed_gives_the_same_frames_and_another_seed_others(tiny_pipeline, make_spec):
    first = render(tiny_pipeline, make_spec(seed=1)).frames
    again = render(tiny_pipeline, make_spec(seed=1)).frames
    other = render(tiny_pipeline, make_spec(seed=2)).frames
    np.testing.assert_array_equal(first, again)
    assert np.abs(first - other).mean() > 1e-3


def test_every_phase_and_step_is_reported_in_order(tiny_pipeline, make_spec):
    events = []
    render(
        tiny_pipeline, make_spec(num_inference_steps=3), ProgressReporter(CallbackSink(events.append), "j")
    )
    assert [(e.phase, e.step, e.total) for e in events] == [
        ("encoding", 0, 0),
        ("denoising", 0, 3),
        ("denoising", 1, 3),
        ("denoising", 2, 3),
        ("denoising", 3, 3),
        ("decoding", 0, 0),
    ]


def test_each_phase_is_timed_and_every_parameter_recorded(tiny_pipeline, make_spec):
    rendered = render(tiny_pipeline, make_spec())
    assert set(rendered.timings) == {"encoding", "denoising", "decoding"}
    assert all(seconds >= 0 for seconds in rendered.timings.values())
    assert rendered.parameters["max_sequence_length"] == 226
    assert rendered.parameters["seed"] == 42 and rendered.parameters["scheduler"] == "CogVideoXDPMScheduler"


def test_a_prompt_over_the_token_limit_is_counted_and_reported(tiny_pipeline, make_spec):
    long_prompt = " ".join(["a corgi surfing a wave at sunset"] * 60)  # about 400 tokens, 1900 characters
    count = count_tokens(tiny_pipeline.pipe.tokenizer, long_prompt, 226)
    assert count.count > 226 and count.used == 226 and count.cut == count.count - 226
    rendered = render(tiny_pipeline, make_spec(prompt=long_prompt))
    assert rendered.prompt_tokens == count
    assert f"so the last {count.cut} were cut" in rendered.warnings[0]
