"""Extend: a clip is continued from its last frame by the family's image-to-video model and joined,
with no frame repeated at the seam, again and again up to the model's longest clip."""

from __future__ import annotations

import json

import numpy as np

from processing_job import inference
from processing_job.__main__ import main
from processing_job.export import probe_video
from processing_job.extend import joined
from processing_job.spec import JobSpec
from tests.processing_job.conftest import PROMPT


def _extend_spec(**changes: object) -> JobSpec:
    values: dict = {
        "job_id": "extend",
        "model": "tiny-wan",
        "prompt": PROMPT,
        "seed": 8,
        "mode": "extend",
        "video": "clip.mp4",
        "num_frames": 9,
        "num_inference_steps": 2,
    }
    return JobSpec.create(**{**values, **changes})


def test_the_seam_drops_the_continuations_first_frame():
    original = np.zeros((5, 2, 2, 3), dtype=np.uint8)
    continuation = np.stack([np.full((2, 2, 3), value, dtype=np.float32) for value in (0.0, 0.5, 1.0)])
    result = joined(original, continuation)
    assert len(result) == 5 + 3 - 1
    assert result[5].max() == 128 and result[6].min() == 255  # 0.5 and 1.0: the picture frame went


def test_the_job_extends_the_staged_clip_with_the_image_to_video_model(make_job, make_clip):
    paths = make_job(_extend_spec(), video=make_clip(frames=9))
    assert inference.main(paths) == 0, paths.failure_file.read_text()
    assert probe_video(paths.video_file).frames == 9 + 9 - 1
    result = json.loads(paths.result_file.read_text())
    assert result["parameters"]["pipeline"] == "WanImageToVideoPipeline"
    assert result["stages"][0]["name"] == "extend" and result["stages"][0]["params"]["frames"] == 17
    assert result["input_video"]["continues_from_frame"] == 9


def test_the_cli_extends_a_clip_and_extends_the_result_again(tmp_path, make_clip, capsys):
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(make_clip(frames=9))
    once, twice = tmp_path / "once.mp4", tmp_path / "twice.mp4"
    common = ["--prompt", "the corgi jumps", "--model", "tiny-wan", "--steps", "2", "--frames", "9"]
    assert main([*common, "--extend", str(clip), "--out", str(once)]) == 0
    assert main([*common, "--extend", str(once), "--out", str(twice)]) == 0
    assert [probe_video(path).frames for path in (once, twice)] == [17, 25]
    assert "Extending" in capsys.readouterr().out


def test_an_extension_past_the_models_longest_clip_is_refused(make_job, make_clip):
    # tiny-wan extends clips to 3 s: 70 frames at 24 fps (2.9 s) plus 8 more is too long.
    paths = make_job(_extend_spec(), video=make_clip(frames=70))
    assert inference.main(paths) == 1
    assert paths.failure_file.read_text() == (
        "The video can't be used: Extending this 2.9 s clip by 0.3 s would make it 3.2 s; "
        "tiny Wan (random weights, offline test model) extends clips to 3 s at most."
    )


def test_a_clip_of_another_size_than_the_extension_is_refused(make_job, make_clip):
    paths = make_job(_extend_spec(), video=make_clip(frames=9, width=128, height=64))
    assert inference.main(paths) == 1
    assert "The clip is 128×64, but the extension renders 96×64" in paths.failure_file.read_text()


def test_the_cli_refuses_to_extend_with_a_family_that_has_no_image_model(tmp_path, make_clip, capsys):
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(make_clip(frames=9))
    assert (
        main(
            [
                "--prompt",
                "x",
                "--model",
                "wan2.1-1.3b",
                "--extend",
                str(clip),
                "--out",
                str(tmp_path / "o.mp4"),
            ]
        )
        == 2
    )
    assert "Wan 2.1 T2V-1.3B has no image-to-video variant." in capsys.readouterr().err


def test_a_cogvideox_clip_is_extended_by_its_image_to_video_sibling(tmp_path, make_clip, capsys):
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(make_clip(frames=9, width=192, height=128, fps=8))
    out = tmp_path / "longer.mp4"
    argv = ["--prompt", "the fox runs on", "--model", "tiny", "--extend", str(clip), "--frames", "9"]
    assert main([*argv, "--steps", "2", "--out", str(out)]) == 0
    video = probe_video(out)
    assert (video.frames, video.width, video.height, video.fps) == (17, 192, 128, 8.0)
    assert "tiny CogVideoX image-to-video" in capsys.readouterr().out
