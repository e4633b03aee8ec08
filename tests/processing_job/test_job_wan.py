"""The Wan family renders through diffusers' own Wan pipelines: the tiny Wan's frames equal a direct
call for text, image and video to video, its drafts take the caches Wan supports, and the registry
holds the real Wan models' rules."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from processing_job import inference
from processing_job.acceleration import AccelerationOptions, AccelerationSettingError
from processing_job.export import probe_video
from processing_job.families import family_for
from processing_job.generate import load_pipeline, render
from processing_job.models import resolve_model
from processing_job.spec import JobSpec, SpecError
from tests.processing_job.conftest import PROMPT, gradient_picture


@pytest.fixture
def wan_spec():
    def make(**changes: object) -> JobSpec:
        values: dict = {
            "job_id": "wan-job",
            "model": "tiny-wan",
            "prompt": PROMPT,
            "seed": 13,
            "num_inference_steps": 2,
            "negative_prompt": "blurry",
        }
        return JobSpec.create(**{**values, **changes})

    return make


@pytest.fixture
def tiny_wan(load_tiny):
    return load_tiny("tiny-wan")


def _generator(seed: int):
    import torch

    return torch.Generator(device="cpu").manual_seed(seed)


def _embeddings(loaded, spec: JobSpec):
    """The prompt as WanPipeline encodes it. (The image and video pipelines' own copy of the prompt
    cleaning calls `ftfy` unconditionally, which this environment lacks; WanPipeline's checks.)
    Without gradients, as inside a pipeline's call: autograd picks other kernels, a few ulps apart."""
    import torch

    with torch.no_grad():
        return loaded.pipeline_for("t2v").encode_prompt(
            prompt=spec.prompt, negative_prompt=spec.negative_prompt, max_sequence_length=512
        )


def test_tiny_wan_text_to_video_equals_a_direct_wan_pipeline_call(tiny_wan, wan_spec):
    spec = wan_spec()
    rendered = render(tiny_wan, spec)
    direct = tiny_wan.pipeline_for("t2v")(
        prompt=spec.prompt,
        negative_prompt=spec.negative_prompt,
        height=spec.height,
        width=spec.width,
        num_frames=spec.num_frames,
        num_inference_steps=spec.num_inference_steps,
        guidance_scale=spec.guidance_scale,
        generator=_generator(spec.seed),
        max_sequence_length=512,
        output_type="np",
    ).frames[0]
    assert rendered.frames.shape == (9, 64, 96, 3)
    assert rendered.parameters["pipeline"] == "WanPipeline" and rendered.parameters["family"] == "wan"
    np.testing.assert_array_equal(rendered.frames, direct)


def test_tiny_wan_image_to_video_equals_a_direct_call_with_the_same_weights(tiny_wan, wan_spec):
    spec = wan_spec(mode="i2v", image="picture.png")
    picture = gradient_picture(spec.width, spec.height)
    rendered = render(tiny_wan, spec, image=picture)
    prompt_embeds, negative_embeds = _embeddings(tiny_wan, spec)
    i2v = tiny_wan.pipeline_for("i2v")
    direct = i2v(
        image=picture,
        prompt_embeds=prompt_embeds,
        negative_prompt_embeds=negative_embeds,
        height=spec.height,
        width=spec.width,
        num_frames=spec.num_frames,
        num_inference_steps=spec.num_inference_steps,
        guidance_scale=spec.guidance_scale,
        generator=_generator(spec.seed),
        output_type="np",
    ).frames[0]
    assert rendered.parameters["pipeline"] == "WanImageToVideoPipeline"
    assert i2v.config.expand_timesteps  # TI2V: the picture's latent frame is held, no CLIP encoder
    assert i2v.transformer is tiny_wan.pipeline_for("t2v").transformer  # from_pipe: one copy
    np.testing.assert_array_equal(rendered.frames, direct)


def test_tiny_wan_video_to_video_equals_a_direct_call(tiny_wan, wan_spec):
    spec = wan_spec(mode="v2v", video="clip.mp4", strength=0.5, num_inference_steps=4)
    frames = [gradient_picture(spec.width, spec.height).rotate(angle) for angle in range(9)]
    rendered = render(tiny_wan, spec, video=frames)
    prompt_embeds, negative_embeds = _embeddings(tiny_wan, spec)
    direct = tiny_wan.pipeline_for("v2v")(
        video=frames,
        prompt_embeds=prompt_embeds,
        negative_prompt_embeds=negative_embeds,
        height=spec.height,
        width=spec.width,
        strength=0.5,
        num_inference_steps=spec.num_inference_steps,
        guidance_scale=spec.guidance_scale,
        generator=_generator(spec.seed),
        output_type="np",
    ).frames[0]
    assert rendered.parameters["strength"] == 0.5 and rendered.frames.shape == (9, 64, 96, 3)
    np.testing.assert_array_equal(rendered.frames, direct)


def test_a_restyle_reports_only_the_steps_its_strength_runs(tiny_wan, wan_spec):
    from processing_job.progress import CallbackSink, ProgressReporter

    events = []
    spec = wan_spec(mode="v2v", video="clip.mp4", strength=0.5, num_inference_steps=4)
    frames = [gradient_picture(spec.width, spec.height)] * 9
    render(tiny_wan, spec, ProgressReporter(CallbackSink(events.append), "j"), video=frames)
    assert [(e.step, e.total) for e in events if e.phase == "denoising"] == [(0, 2), (1, 2), (2, 2)]


@pytest.mark.parametrize("cache", family_for(resolve_model("tiny-wan")).caches)
def test_every_cache_wan_supports_renders_a_draft(cache, tiny_wan, wan_spec):
    rendered = render(
        tiny_wan,
        wan_spec(quality="draft", num_inference_steps=6),
        acceleration=AccelerationOptions(cache=cache),
    )
    assert rendered.parameters["cache"] == cache and np.isfinite(rendered.frames).all()
    assert not tiny_wan.pipe.transformer.is_cache_enabled


def test_a_wan_draft_takes_first_block_cache_and_fastercache_is_refused():
    family = family_for(resolve_model("wan2.2-5b"))
    options = AccelerationOptions.for_quality(
        "draft", {}, draft_cache=family.default_draft_cache, supported=family.caches
    )
    assert options.cache == "first-block"
    with pytest.raises(AccelerationSettingError, match="must be one of first-block, taylorseer, pab or none"):
        AccelerationOptions.for_quality(
            "draft", {"VIDEOBOT_DRAFT_CACHE": "fastercache"}, supported=family.caches
        )


def test_a_wan_decoding_out_of_gpu_memory_is_decoded_again_in_tiles(
    model_cache, tiny_wan, wan_spec, monkeypatch
):
    import torch
    from diffusers import AutoencoderKLWan

    from processing_job.memory import choose_plan
    from processing_job.weights import resolve_weights

    spec = wan_spec()
    expected = render(tiny_wan, spec).frames
    info = resolve_model("tiny-wan")
    loaded = load_pipeline(info, resolve_weights(info, Path("/nonexistent"), model_cache), device="cpu")
    loaded.memory_plan = choose_plan("cuda", None, None, override="gpu")
    original, calls = AutoencoderKLWan.decode, []

    def decode(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 9.00 GiB")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(AutoencoderKLWan, "decode", decode)
    rendered = render(loaded, spec)
    assert loaded.pipe.vae.use_tiling and rendered.parameters["memory_plan"] == "gpu-tiled"
    np.testing.assert_array_equal(rendered.frames, expected)


def test_the_job_renders_tiny_wan_to_a_24_fps_mp4(make_job, wan_spec):
    spec = wan_spec(num_frames=13)
    paths = make_job(spec)
    assert inference.main(paths) == 0, paths.failure_file.read_text()
    video = probe_video(paths.video_file)
    assert (video.frames, video.width, video.height, video.fps) == (13, 96, 64, 24.0)
    result = json.loads(paths.result_file.read_text())
    assert (
        result["prompt_tokens"]["limit"] == 512
        and result["parameters"]["scheduler"] == "UniPCMultistepScheduler"
    )


def test_wan_2_2_5b_has_its_published_rules():
    info = resolve_model("wan2.2-5b")
    assert (info.hub_id, info.pipeline, info.dtype) == (
        "Wan-AI/Wan2.2-TI2V-5B-Diffusers",
        "WanPipeline",
        "bfloat16",
    )
    assert (info.width, info.height, info.fps, info.num_frames) == (1280, 704, 24, 121)
    assert info.sizes == ((704, 1280), (1280, 704)) and info.max_prompt_tokens == 512
    assert info.modes == ("t2v", "i2v", "v2v") and info.renders("extend")
    assert info.min_gpu_memory_gb == 24 and info.instance == "ml.g6e.2xlarge"
    JobSpec.create(job_id="j", model="wan2.2-5b", prompt="x", seed=1, height=1280, width=704)  # portrait


def test_wan_frames_are_4n_plus_1():
    with pytest.raises(SpecError, match="renders 4N\\+1 frames between 5 and 121"):
        JobSpec.create(job_id="j", model="wan2.2-5b", prompt="x", seed=1, num_frames=120)


def test_wan_2_1_1_3b_renders_480p_text_and_restyles_but_has_no_image_model():
    info = resolve_model("wan2.1-1.3b")
    assert (info.width, info.height, info.fps, info.num_frames) == (832, 480, 16, 81)
    with pytest.raises(SpecError, match=r"Wan 2\.1 T2V-1\.3B makes videos from text; it can.t run in i2v"):
        JobSpec.create(job_id="j", model="wan2.1-1.3b", prompt="x", seed=1, mode="i2v", image="p.png")


def test_the_cli_animates_a_picture_with_the_same_wan_checkpoint(tmp_path, make_picture, capsys):
    from processing_job.__main__ import main

    picture = tmp_path / "wide.png"
    picture.write_bytes(make_picture(320, 180))
    out = tmp_path / "animated.mp4"
    assert (
        main(
            [
                "--prompt",
                "the light shifts",
                "--model",
                "tiny-wan",
                "--image",
                str(picture),
                "--steps",
                "2",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    video = probe_video(out)
    assert (video.frames, video.fps) == (9, 24.0) and video.width > video.height
    assert "Animating" in capsys.readouterr().out


def test_with_model_offload_each_modes_pipeline_sets_its_own_hooks(tiny_wan, monkeypatch):
    from diffusers import DiffusionPipeline

    from processing_job.generate import LoadedPipeline
    from processing_job.memory import choose_plan

    offloaded = []
    monkeypatch.setattr(
        DiffusionPipeline,
        "enable_model_cpu_offload",
        lambda self, *a, **k: offloaded.append(type(self).__name__),
    )
    base = tiny_wan.pipeline_for("t2v")
    loaded = LoadedPipeline(
        pipe=base,
        info=tiny_wan.info,
        weights=tiny_wan.weights,
        device="cuda",  # as on a GPU: the plan below is applied, nothing runs
        dtype="float32",
        memory_plan=choose_plan("cuda", None, None, override="model-offload"),
    )
    assert loaded.use("i2v").transformer is base.transformer
    loaded.use("t2v")
    assert offloaded == ["WanImageToVideoPipeline", "WanPipeline"]
