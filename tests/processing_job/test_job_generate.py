"""A render is the pipeline's own render, in timed phases: same frames, same seed rules."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from processing_job.generate import load_pipeline, render
from processing_job.progress import CallbackSink, ProgressReporter
from processing_job.tokens import count_tokens
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


def _load_fresh(key: str, model_cache, plan: str):
    """A tiny pipeline of its own (the session's stays untouched), as if loaded on a GPU with `plan`."""
    from processing_job.memory import choose_plan
    from processing_job.models import resolve_model
    from processing_job.weights import resolve_weights

    info = resolve_model(key)
    loaded = load_pipeline(info, resolve_weights(info, Path("/nonexistent"), model_cache), device="cpu")
    loaded.memory_plan = choose_plan("cuda", None, None, override=plan)
    return loaded


def _watch(monkeypatch, cls, method: str, *, out_of_memory_first: bool = False) -> list[int]:
    """Counts the calls of `cls.method` (a library method); with `out_of_memory_first`, its first call
    raises what CUDA raises when an allocation doesn't fit."""
    import torch

    original, calls = getattr(cls, method), []

    def watched(self, *args, **kwargs):
        calls.append(1)
        if out_of_memory_first and len(calls) == 1:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 12.00 GiB")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(cls, method, watched)
    return calls


def test_a_decoding_that_runs_out_of_gpu_memory_is_decoded_again_in_tiles_from_the_same_latents(
    model_cache, tiny_pipeline, make_spec, monkeypatch
):
    from diffusers import AutoencoderKLCogVideoX, CogVideoXTransformer3DModel

    spec = make_spec()
    expected = render(tiny_pipeline, spec).frames
    loaded = _load_fresh("tiny", model_cache, "gpu")
    denoiser_calls = _watch(monkeypatch, CogVideoXTransformer3DModel, "forward")
    _watch(monkeypatch, AutoencoderKLCogVideoX, "decode", out_of_memory_first=True)

    rendered = render(loaded, spec)

    np.testing.assert_array_equal(rendered.frames, expected)
    assert len(denoiser_calls) == spec.num_inference_steps  # the loop ran once
    assert loaded.memory_plan.name == "gpu-tiled" and loaded.pipe.vae.use_tiling
    assert rendered.parameters["memory_plan"] == "gpu-tiled"
    assert rendered.warnings == []  # nothing for the person: the video is the one they asked for
    assert rendered.plan_changes == [
        "The GPU ran out of memory decoding with the gpu memory plan; the render went on with gpu-tiled."
    ]


def test_a_denoising_that_runs_out_of_gpu_memory_starts_again_with_the_models_offloaded(
    model_cache, tiny_pipeline, make_spec, monkeypatch
):
    from diffusers import CogVideoXTransformer3DModel

    spec = make_spec()
    expected = render(tiny_pipeline, spec).frames
    loaded = _load_fresh("tiny", model_cache, "gpu")
    _watch(monkeypatch, CogVideoXTransformer3DModel, "forward", out_of_memory_first=True)

    rendered = render(loaded, spec)

    np.testing.assert_array_equal(rendered.frames, expected)  # same seed, same video
    assert rendered.parameters["memory_plan"] == "model-offload" and rendered.parameters["offload"]
    assert rendered.plan_changes == [
        "The GPU ran out of memory denoising with the gpu memory plan; the render went on with model-offload."
    ]


def test_a_render_out_of_memory_on_every_plan_fails_after_the_smallest(model_cache, make_spec, monkeypatch):
    import torch
    from diffusers import CogVideoXTransformer3DModel

    def out_of_memory(self, *args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 12.00 GiB")

    monkeypatch.setattr(CogVideoXTransformer3DModel, "forward", out_of_memory)
    loaded = _load_fresh("tiny", model_cache, "sequential-offload")
    with pytest.raises(torch.OutOfMemoryError):
        render(loaded, make_spec())


def test_errors_other_than_memory_are_never_retried(model_cache, make_spec, monkeypatch):
    from diffusers import CogVideoXTransformer3DModel

    calls = []

    def broken(self, *args, **kwargs):
        calls.append(1)
        raise ValueError("shapes don't match")

    monkeypatch.setattr(CogVideoXTransformer3DModel, "forward", broken)
    loaded = _load_fresh("tiny", model_cache, "gpu")
    with pytest.raises(ValueError):
        render(loaded, make_spec())
    assert len(calls) == 1 and loaded.memory_plan.name == "gpu"
