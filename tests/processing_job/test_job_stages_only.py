"""A stages-only job (mode `stages`): an earlier render smoothed or upscaled as a job of its own, with
no model loaded, written and reported like any other job."""

from __future__ import annotations

import json

from processing_job import inference
from processing_job.export import probe_video
from processing_job.spec import JobSpec
from tests.processing_job.conftest import PROMPT


def _stages_spec(**changes: object) -> JobSpec:
    values: dict = {
        "job_id": "post",
        "model": "tiny",
        "prompt": PROMPT,
        "seed": 3,
        "mode": "stages",
        "video": "clip.mp4",
        "num_frames": 9,
        "height": 64,
        "width": 96,
    }
    return JobSpec.create(**{**values, **changes})


def test_smoothing_a_staged_clip_multiplies_its_frames_and_keeps_its_length(make_job, make_clip):
    paths = make_job(_stages_spec(interpolate=2), video=make_clip(frames=9, fps=8))
    assert inference.main(paths) == 0, paths.failure_file.read_text()
    video = probe_video(paths.video_file)
    assert (video.frames, video.fps, video.width, video.height) == (18, 16, 96, 64)
    result = json.loads(paths.result_file.read_text())
    assert [stage["name"] for stage in result["stages"]] == ["smooth"]
    assert result["input_video"]["frame_count"] == 9 and "model" not in result


def test_upscaling_a_staged_clip_doubles_its_size_and_keeps_its_frames(make_job, make_clip):
    paths = make_job(_stages_spec(upscale=2), video=make_clip(frames=9))
    assert inference.main(paths) == 0, paths.failure_file.read_text()
    video = probe_video(paths.video_file)
    assert (video.frames, video.width, video.height) == (9, 192, 128)
    assert (video.codec, video.pix_fmt, video.faststart) == ("h264", "yuv420p", True)
    assert paths.poster_file.is_file()


def test_a_missing_clip_is_a_sentence(make_job):
    paths = make_job(_stages_spec(interpolate=2))
    assert inference.main(paths) == 1
    assert paths.failure_file.read_text() == "The video clip.mp4 was not found in the job's input folder."
