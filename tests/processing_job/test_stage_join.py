"""Join: clips into one cut with ffmpeg's concat (hard cuts) or xfade (crossfades)."""

from __future__ import annotations

import pytest

from processing_job.export import probe_video
from processing_job.stages import StageError
from processing_job.stages.join import join
from tests.processing_job.clips import make_clip


@pytest.fixture
def three_clips(tmp_path):
    return [
        make_clip(tmp_path / "a.mp4", frames=9, fps=8),
        make_clip(tmp_path / "b.mp4", frames=17, fps=8),
        make_clip(tmp_path / "c.mp4", frames=12, fps=8),
    ]


def test_a_hard_cut_has_every_frame_of_every_clip(tmp_path, three_clips):
    report = join(three_clips, tmp_path / "cut.mp4")

    cut = probe_video(tmp_path / "cut.mp4")
    assert cut.frames == 9 + 17 + 12
    assert report.params["frames_out"] == 38
    assert report.notes == ["joined 3 clips"]


@pytest.mark.parametrize(("crossfade_s", "fade_frames"), [(0.25, 2), (0.5, 4)])
def test_crossfades_overlap_the_clips_by_the_crossfade(tmp_path, three_clips, crossfade_s, fade_frames):
    report = join(three_clips, tmp_path / "cut.mp4", crossfade_s=crossfade_s)

    cut = probe_video(tmp_path / "cut.mp4")
    assert cut.frames == 38 - 2 * fade_frames  # sum of frames − (n − 1) × crossfade frames
    assert report.params["crossfade_frames"] == fade_frames
    assert cut.duration_s == pytest.approx((38 - 2 * fade_frames) / 8, abs=1 / 8)


def test_the_cut_plays_inline_in_slack(tmp_path, three_clips):
    join(three_clips, tmp_path / "cut.mp4", crossfade_s=0.25)

    cut = probe_video(tmp_path / "cut.mp4")
    assert (cut.codec, cut.pix_fmt, cut.faststart, cut.fps) == ("h264", "yuv420p", True, 8.0)


def test_clips_of_other_sizes_and_rates_are_fitted_to_the_first(tmp_path):
    first = make_clip(tmp_path / "first.mp4", frames=9, width=96, height=64, fps=8)
    other = make_clip(tmp_path / "other.mp4", frames=20, width=160, height=90, fps=16)

    report = join([first, other], tmp_path / "cut.mp4")

    cut = probe_video(tmp_path / "cut.mp4")
    assert (cut.width, cut.height, cut.fps) == (96, 64, 8.0)
    assert cut.frames == 9 + 10  # 20 frames at 16 fps are 10 at 8 fps
    assert report.notes[1] == (
        "clip 2 was scaled from 160×90 to fit 96×64 with black bars and converted from 16 to 8 frames "
        "a second to match the first"
    )


def test_a_crossfade_works_across_converted_clips(tmp_path):
    first = make_clip(tmp_path / "first.mp4", frames=20, width=160, height=90, fps=16)
    other = make_clip(tmp_path / "other.mp4", frames=9, width=96, height=64, fps=8)

    join([first, other], tmp_path / "cut.mp4", crossfade_s=0.25)

    cut = probe_video(tmp_path / "cut.mp4")
    assert (cut.width, cut.height, cut.fps, cut.frames) == (160, 90, 16.0, 20 + 18 - 4)


def test_a_join_of_one_clip_is_refused(tmp_path):
    with pytest.raises(StageError, match="at least two clips"):
        join([make_clip(tmp_path / "only.mp4")], tmp_path / "cut.mp4")


def test_a_missing_clip_is_named(tmp_path):
    with pytest.raises(StageError, match="Clip 2 was not found"):
        join([make_clip(tmp_path / "a.mp4"), tmp_path / "gone.mp4"], tmp_path / "cut.mp4")


def test_a_corrupt_clip_is_named(tmp_path):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypisom" + bytes(500))

    with pytest.raises(StageError, match="Clip 1 seems to be damaged or cut off"):
        join([broken, make_clip(tmp_path / "b.mp4")], tmp_path / "cut.mp4")
    assert not (tmp_path / "cut.mp4").exists()


def test_a_crossfade_longer_than_a_clip_is_refused(tmp_path, three_clips):
    with pytest.raises(StageError, match=r"A 2 s crossfade is too long for clip 1, which lasts 1\.1 s"):
        join(three_clips, tmp_path / "cut.mp4", crossfade_s=2)


def test_a_middle_clip_must_hold_both_its_fades(tmp_path):
    clips = [
        make_clip(tmp_path / f"{name}.mp4", frames=frames)
        for name, frames in (("a", 17), ("b", 9), ("c", 17))
    ]

    with pytest.raises(StageError, match=r"too long for clip 2, which lasts 1\.1 s and fades in and out"):
        join(clips, tmp_path / "cut.mp4", crossfade_s=0.75)
