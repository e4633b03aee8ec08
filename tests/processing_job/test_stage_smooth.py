"""Smooth: ffmpeg's minterpolate at 2× or 3× the frame rate, same duration, playable output."""

from __future__ import annotations

import pytest

from processing_job.export import probe_video
from processing_job.stages import StageError
from processing_job.stages.smooth import smooth
from tests.processing_job.clips import make_clip


@pytest.mark.parametrize("factor", [2, 3])
def test_smoothing_multiplies_the_frames_and_the_rate_and_keeps_the_duration(tmp_path, factor):
    src = make_clip(tmp_path / "clip.mp4", frames=9, fps=8)
    before = probe_video(src)

    report = smooth(src, tmp_path / "smooth.mp4", factor=factor)

    after = probe_video(tmp_path / "smooth.mp4")
    assert after.frames == 9 * factor  # n × factor: the last frame is held its whole duration
    assert after.fps == 8 * factor
    assert after.duration_s == pytest.approx(before.duration_s, abs=1 / after.fps)
    assert (report.params["frames_in"], report.params["frames_out"]) == (9, 9 * factor)


def test_the_smoothed_video_plays_inline_in_slack(tmp_path):
    smooth(make_clip(tmp_path / "clip.mp4"), tmp_path / "smooth.mp4", factor=2)

    video = probe_video(tmp_path / "smooth.mp4")

    assert (video.codec, video.pix_fmt, video.faststart) == ("h264", "yuv420p", True)
    assert (video.width, video.height) == (96, 64)


def test_in_between_frames_are_interpolated_not_repeated(tmp_path):
    from processing_job.video_input import read_frames

    smooth(make_clip(tmp_path / "clip.mp4", frames=9), tmp_path / "smooth.mp4", factor=2)

    frames, _ = read_frames(tmp_path / "smooth.mp4", width=96, height=64, max_frames=3)
    assert frames[1].tobytes() != frames[0].tobytes()
    assert frames[1].tobytes() != frames[2].tobytes()


def test_the_report_tells_the_person_what_changed(tmp_path):
    report = smooth(make_clip(tmp_path / "clip.mp4", fps=8), tmp_path / "smooth.mp4", factor=3)

    assert report.name == "smooth"
    assert report.notes == ["smoothed from 8 to 24 frames a second with motion-compensated interpolation"]
    assert report.to_dict()["params"]["fps_out"] == 24
    assert report.seconds > 0


def test_factor_one_copies_the_video(tmp_path):
    src = make_clip(tmp_path / "clip.mp4")

    report = smooth(src, tmp_path / "same.mp4", factor=1)

    assert (tmp_path / "same.mp4").read_bytes() == src.read_bytes()
    assert report.params["frames_out"] == report.params["frames_in"]


@pytest.mark.parametrize("factor", [0, 4, 10])
def test_other_factors_are_refused_with_a_sentence(tmp_path, factor):
    with pytest.raises(StageError, match=f"2 or 3 times as fluid, not {factor} times"):
        smooth(make_clip(tmp_path / "clip.mp4"), tmp_path / "out.mp4", factor=factor)


def test_a_damaged_source_is_refused_with_a_sentence(tmp_path):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypisom" + bytes(500))

    with pytest.raises(StageError, match="damaged or cut off"):
        smooth(broken, tmp_path / "out.mp4", factor=2)
    assert not (tmp_path / "out.mp4").exists()
