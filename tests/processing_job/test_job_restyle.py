"""Video to video: a shared clip is checked, fitted to the model (size, rate, frame rule) and restyled
at a strength by the family's video-to-video pipeline, through the job and the CLI."""

from __future__ import annotations

import json

import numpy as np

from processing_job import inference
from processing_job.__main__ import main
from processing_job.export import probe_video
from processing_job.generate import render
from processing_job.spec import JobSpec
from tests.processing_job.conftest import PROMPT, gradient_picture


def test_cogvideox_restyles_with_frames_equal_a_direct_video_to_video_call(load_tiny):
    import torch

    loaded = load_tiny("tiny")
    spec = JobSpec.create(
        job_id="j",
        model="tiny",
        prompt=PROMPT,
        seed=4,
        mode="v2v",
        video="clip.mp4",
        strength=0.5,
        num_frames=9,
        height=64,
        width=96,
        num_inference_steps=4,
    )
    frames = [gradient_picture(96, 64).rotate(angle) for angle in range(9)]
    rendered = render(loaded, spec, video=frames)
    direct = loaded.pipeline_for("v2v")(
        video=frames,
        prompt=spec.prompt,
        negative_prompt=spec.negative_prompt,
        height=64,
        width=96,
        strength=0.5,
        num_inference_steps=4,
        guidance_scale=spec.guidance_scale,
        use_dynamic_cfg=loaded.info.use_dynamic_cfg,
        max_sequence_length=226,
        generator=torch.Generator(device="cpu").manual_seed(4),
        output_type="np",
    ).frames[0]
    assert rendered.parameters["pipeline"] == "CogVideoXVideoToVideoPipeline"
    np.testing.assert_array_equal(rendered.frames, direct)


def test_the_job_restyles_the_staged_clip_fitted_to_the_model(make_job, make_clip):
    spec = JobSpec.create(
        job_id="restyle",
        model="tiny-wan",
        prompt=PROMPT,
        seed=2,
        mode="v2v",
        video="clip.mp4",
        strength=0.6,
        num_frames=13,
        num_inference_steps=2,
    )
    paths = make_job(spec, video=make_clip(frames=12, width=160, height=90, fps=24))
    assert inference.main(paths) == 0, paths.failure_file.read_text()
    video = probe_video(paths.video_file)
    # 12 frames at 24 fps: the most a 4N+1 rule takes is 9; cropped to the spec's 96×64.
    assert (video.frames, video.width, video.height) == (9, 96, 64)
    result = json.loads(paths.result_file.read_text())
    assert result["input_video"]["width"] == 160 and result["input_video"]["frames"] == 9
    assert result["parameters"]["strength"] == 0.6 and result["stages"][0]["name"] == "generate"
    assert any("cut to 9 frames" in warning for warning in result["warnings"])


def test_the_cli_restyles_a_clip_in_its_shape_with_a_strength(tmp_path, make_clip, capsys):
    clip = tmp_path / "in.mp4"
    clip.write_bytes(make_clip(frames=9, width=96, height=160))  # portrait
    out = tmp_path / "restyled.mp4"
    argv = ["--prompt", "as a watercolour", "--model", "tiny-wan", "--video", str(clip), "--strength", "0.5"]
    assert main([*argv, "--steps", "2", "--out", str(out)]) == 0
    video = probe_video(out)
    assert (video.width, video.height, video.frames) == (64, 96, 9)
    assert (video.codec, video.pix_fmt, video.faststart) == ("h264", "yuv420p", True)
    assert "Restyling" in capsys.readouterr().out


def test_a_restyle_without_a_strength_takes_diffusers_default(load_tiny):
    spec = JobSpec.create(
        job_id="j",
        model="tiny-wan",
        prompt=PROMPT,
        seed=4,
        mode="v2v",
        video="clip.mp4",
        num_inference_steps=5,
    )
    rendered = render(load_tiny("tiny-wan"), spec, video=[gradient_picture(96, 64)] * 9)
    assert spec.strength is None and rendered.parameters["strength"] == 0.8
