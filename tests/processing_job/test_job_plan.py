"""A job is a short plan: the render (or a join) writes an mp4, then smooth and upscale run file to
file in that order, and the last file is the video; result.json lists every stage's parameters and
time. Bad clips get a sentence and a non-zero exit, through the CLI and the container."""

from __future__ import annotations

import json
import subprocess

import pytest

from processing_job import inference
from processing_job.__main__ import main
from processing_job.export import ffmpeg_exe, probe_video
from processing_job.spec import JobSpec
from tests.processing_job.conftest import PROMPT, clip_bytes


def _spec(**changes: object) -> JobSpec:
    values: dict = {
        "job_id": "plan",
        "model": "tiny-wan",
        "prompt": PROMPT,
        "seed": 3,
        "num_inference_steps": 2,
    }
    return JobSpec.create(**{**values, **changes})


def test_smooth_then_upscale_run_after_the_render_and_are_recorded(make_job):
    paths = make_job(_spec(interpolate=2, upscale=2))
    assert inference.main(paths) == 0, paths.failure_file.read_text()
    result = json.loads(paths.result_file.read_text())
    assert [stage["name"] for stage in result["stages"]] == ["generate", "smooth", "upscale"]
    assert result["stages"][1]["params"]["factor"] == 2 and result["stages"][2]["params"]["factor"] == 2
    assert all(stage["seconds"] >= 0 for stage in result["stages"]) and "stages" in result["timings_s"]
    video = probe_video(paths.video_file)
    assert (video.width, video.height) == (192, 128) and video.frames > 9  # twice the size, more frames
    assert (video.codec, video.pix_fmt, video.faststart) == ("h264", "yuv420p", True)
    assert result["video"]["frames"] == video.frames and not paths.work_dir.exists()


def test_a_render_without_stages_lists_only_itself(make_job):
    paths = make_job(_spec())
    assert inference.main(paths) == 0
    result = json.loads(paths.result_file.read_text())
    assert [stage["name"] for stage in result["stages"]] == ["generate"]
    assert result["stages"][0]["params"]["model"] == "tiny-wan"


def test_the_job_joins_its_clips(make_job, make_clip):
    spec = _spec(mode="join", prompt="", clips=["a.mp4", "b.mp4"])
    paths = make_job(spec, files={"a.mp4": make_clip(frames=9), "b.mp4": make_clip(frames=13)})
    assert inference.main(paths) == 0, paths.failure_file.read_text()
    video = probe_video(paths.video_file)
    assert video.frames == 22 and (video.codec, video.faststart) == ("h264", True)
    result = json.loads(paths.result_file.read_text())
    assert [stage["name"] for stage in result["stages"]] == ["join"]


def test_the_cli_joins_clips_into_one_cut(tmp_path, make_clip, capsys):
    first, second = tmp_path / "a.mp4", tmp_path / "b.mp4"
    first.write_bytes(make_clip(frames=9))
    second.write_bytes(make_clip(frames=9))
    out, kept = tmp_path / "cut.mp4", tmp_path / "cut.json"
    assert main(["join", str(first), str(second), "--out", str(out), "--result", str(kept)]) == 0
    assert probe_video(out).frames == 18
    assert json.loads(kept.read_text())["stages"][0]["name"] == "join"
    assert "Joining 2 clips" in capsys.readouterr().out


def test_a_join_of_one_clip_is_refused_with_a_sentence(tmp_path, make_clip, capsys):
    only = tmp_path / "a.mp4"
    only.write_bytes(make_clip())
    assert main(["join", str(only), "--out", str(tmp_path / "cut.mp4")]) == 2
    assert "A join needs at least two clips, not 1." in capsys.readouterr().err


def test_the_cli_smooths_and_upscales_its_render(tmp_path, capsys):
    out = tmp_path / "smooth.mp4"
    argv = [
        "--prompt",
        "a corgi",
        "--model",
        "tiny-wan",
        "--steps",
        "2",
        "--interpolate",
        "2",
        "--upscale",
        "2",
    ]
    assert main([*argv, "--out", str(out)]) == 0
    assert probe_video(out).width == 192
    printed = capsys.readouterr().out
    assert "smooth:" in printed and "upscale:" in printed


def _two_hour_clip(path) -> None:
    command = [
        ffmpeg_exe(),
        "-v",
        "error",
        "-y",
        "-f",
        "lavfi",
        "-i",
        "color=c=gray:s=32x32:r=1",
        "-t",
        "7200",
    ]
    subprocess.run([*command, "-c:v", "libx264", "-pix_fmt", "yuv420p", str(path)], check=True, timeout=120)


@pytest.fixture(scope="module")
def bad_videos(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("bad-videos")
    not_a_video = folder / "notes.mp4"
    not_a_video.write_text("these are my notes, not a video")
    corrupt = folder / "corrupt.mp4"
    corrupt.write_bytes(clip_bytes(folder, frames=9)[:600])
    long = folder / "long.mp4"
    _two_hour_clip(long)
    return {"not a video": not_a_video, "corrupt": corrupt, "two hours": long}


@pytest.mark.parametrize("kind", ["not a video", "corrupt", "two hours"])
def test_a_bad_clip_to_restyle_is_refused_by_the_cli_with_a_sentence(kind, bad_videos, tmp_path, capsys):
    out = tmp_path / "out.mp4"
    assert (
        main(["--prompt", "x", "--model", "tiny-wan", "--video", str(bad_videos[kind]), "--out", str(out)])
        == 2
    )
    error = capsys.readouterr().err
    assert error.startswith("error: ") and "Traceback" not in error and not out.exists()


@pytest.mark.parametrize("kind", ["not a video", "corrupt", "two hours"])
def test_a_bad_clip_fails_the_job_with_a_sentence(kind, bad_videos, make_job):
    spec = _spec(mode="v2v", video="clip.mp4")
    paths = make_job(spec, video=bad_videos[kind].read_bytes())
    assert inference.main(paths) == 1
    message = paths.failure_file.read_text()
    assert message.startswith("The video can't be used: ") and "Traceback" not in message


def test_a_missing_clip_is_named(make_job):
    paths = make_job(_spec(mode="v2v", video="clip.mp4"))
    assert inference.main(paths) == 1
    assert paths.failure_file.read_text() == "The video clip.mp4 was not found in the job's input folder."


def test_a_crossfade_longer_than_a_clip_fails_the_join_with_the_stages_sentence(make_job, make_clip):
    spec = _spec(mode="join", prompt="", clips=["a.mp4", "b.mp4"], crossfade_s=2.0)
    paths = make_job(spec, files={"a.mp4": make_clip(frames=9), "b.mp4": make_clip(frames=9)})
    assert inference.main(paths) == 1
    message = paths.failure_file.read_text()
    assert "crossfade" in message.lower() and "unexpectedly" not in message and not paths.video_file.exists()
