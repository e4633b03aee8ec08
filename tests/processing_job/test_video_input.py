"""Shared videos are checked before a frame is decoded, then read fitted to the model's frame."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from processing_job.export import ffmpeg_exe
from processing_job.video_input import VideoInputError, check_video, read_frames
from tests.processing_job.clips import make_clip

LIMITS = {"max_seconds": 60.0, "max_pixels": 3840 * 2160, "max_bytes": 50 * 2**20}


def check(path: Path, **changes: float):
    return check_video(path, **{**LIMITS, **changes})


def test_an_mp4_is_described_without_decoding_it(tmp_path):
    clip = make_clip(tmp_path / "clip.mp4", frames=12, width=160, height=90, fps=8)

    facts = check(clip)

    assert (facts.width, facts.height, facts.fps, facts.frame_count) == (160, 90, 8.0, 12)
    assert facts.duration_s == pytest.approx(1.5, abs=0.01)
    assert (facts.codec, facts.container) == ("h264", "mp4")


def test_a_webm_is_taken_too(tmp_path):
    clip = make_clip(tmp_path / "clip.webm", frames=12, width=160, height=90, codec=["-c:v", "libvpx-vp9"])

    facts = check(clip)

    assert (facts.codec, facts.container, facts.frame_count) == ("vp9", "webm", 12)


def test_a_gif_is_taken_too(tmp_path):
    facts = check(make_clip(tmp_path / "clip.gif", frames=6, width=64, height=48, codec=[]))

    assert (facts.container, facts.frame_count, facts.width) == ("gif", 6, 64)


def test_a_two_hour_video_is_refused_from_its_header(tmp_path):
    long = tmp_path / "long.mp4"
    subprocess.run(
        [
            ffmpeg_exe(),
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "color=size=32x32:rate=1",
            "-t",
            "7200",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            str(long),
        ],
        check=True,
        timeout=120,
    )

    with pytest.raises(VideoInputError, match=r"2 hours long; I can take videos up to 60 seconds"):
        check(long)


def test_a_picture_is_not_a_video(tmp_path, picture_png):
    picture = tmp_path / "holiday.mp4"  # the name lies; the bytes don't
    picture.write_bytes(picture_png)

    with pytest.raises(VideoInputError, match=r"couldn.t open that file as a video\. I can use MP4, MOV"):
        check(picture)


def test_a_heic_photo_is_named_as_a_photo(tmp_path):
    photo = tmp_path / "IMG_0001.mov"
    photo.write_bytes(b"\x00\x00\x00\x18ftypheic" + bytes(200))

    with pytest.raises(VideoInputError, match="HEIC or AVIF photo, not a video"):
        check(photo)


def test_an_empty_file_is_refused(tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")

    with pytest.raises(VideoInputError, match="The file is empty"):
        check(empty)


def test_a_file_too_big_on_disk_is_refused_before_it_is_opened(tmp_path):
    big = tmp_path / "big.mp4"
    big.write_bytes(bytes(3 * 2**20))  # not even a video: the size is checked first

    with pytest.raises(VideoInputError, match=r"The video is 3 MB; I can take videos up to 1 MB"):
        check(big, max_bytes=2**20)


def test_a_file_with_a_video_header_and_garbage_after_it_is_corrupt(tmp_path):
    clip = make_clip(tmp_path / "clip.mp4")
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(clip.read_bytes()[:32] + bytes(range(256)) * 40)

    with pytest.raises(VideoInputError, match="damaged or cut off"):
        check(broken)


def test_a_video_cut_off_while_uploading_is_corrupt(tmp_path):
    clip = make_clip(tmp_path / "clip.mp4", frames=24)  # faststart: the index survives the cut
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(clip.read_bytes()[: clip.stat().st_size // 2])

    with pytest.raises(VideoInputError, match="damaged or cut off"):
        check(cut)


def test_a_single_frame_cut_from_a_longer_clip_counts_as_one_frame(tmp_path):
    longer = make_clip(tmp_path / "longer.mp4", frames=12)
    first = tmp_path / "first.mp4"  # copied packets: its clock starts just before zero
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-i", str(longer), "-frames:v", "1", "-c", "copy", str(first)],
        check=True,
        timeout=60,
    )

    assert check(first).frame_count == 1


def test_a_video_with_no_frames_is_refused(tmp_path):
    empty = tmp_path / "zero.mp4"
    subprocess.run(
        [
            ffmpeg_exe(),
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=64x64",
            "-frames:v",
            "0",
            "-c:v",
            "libx264",
            str(empty),
        ],
        check=True,
        timeout=60,
    )

    with pytest.raises(VideoInputError, match=r"no (frames|video) in it"):
        check(empty)


def test_sound_alone_is_not_a_video(tmp_path):
    sound = tmp_path / "voice.m4a"
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "sine=d=1", "-c:a", "aac", str(sound)],
        check=True,
        timeout=60,
    )

    with pytest.raises(VideoInputError, match="no video in it"):
        check(sound)


def test_too_many_pixels_a_frame_is_refused(tmp_path):
    clip = make_clip(tmp_path / "clip.mp4", width=160, height=90)

    with pytest.raises(VideoInputError, match=r"160×90 \(0\.0 megapixels a frame\); I can take up to"):
        check(clip, max_pixels=10_000)


def test_an_absurdly_thin_video_is_refused(tmp_path):
    clip = make_clip(tmp_path / "thin.mp4", width=1024, height=32)

    with pytest.raises(VideoInputError, match="too long and thin"):
        check(clip)


def test_frames_are_scaled_to_cover_and_centre_cropped(tmp_path):
    clip = make_clip(tmp_path / "wide.mp4", frames=6, width=192, height=108)

    frames, notes = read_frames(clip, width=96, height=96, max_frames=10)

    assert len(frames) == 6
    assert {frame.size for frame in frames} == {(96, 96)}
    assert {frame.mode for frame in frames} == {"RGB"}
    assert notes == ["resized from 192×108 to 96×96, cropping 44% at the sides"]


def test_a_long_video_is_trimmed_to_the_frames_asked_for(tmp_path):
    clip = make_clip(tmp_path / "clip.mp4", frames=96, fps=8)  # 12 s

    frames, notes = read_frames(clip, width=96, height=64, max_frames=49)

    assert len(frames) == 49
    assert notes == ["trimmed from 12.0 s to 6.1 s"]


def test_the_frame_rate_is_converted_when_asked(tmp_path):
    clip = make_clip(tmp_path / "clip.mp4", frames=16, fps=8)  # 2 s

    frames, notes = read_frames(clip, width=96, height=64, max_frames=100, fps=16)

    assert len(frames) == pytest.approx(32, abs=1)
    assert notes == ["changed the frame rate from 8 to 16 frames a second"]


def test_reading_checks_the_video_first(tmp_path):
    text = tmp_path / "notes.mp4"
    text.write_text("not a video at all, just words")

    with pytest.raises(VideoInputError, match="couldn't open that file as a video"):
        read_frames(text, width=96, height=64, max_frames=9)


def test_a_phone_video_is_described_and_read_upright(tmp_path):
    stored = make_clip(tmp_path / "stored.mp4", frames=4, width=96, height=64)
    portrait = tmp_path / "portrait.mp4"
    subprocess.run(
        [
            ffmpeg_exe(),
            "-v",
            "error",
            "-display_rotation",
            "90",
            "-i",
            str(stored),
            "-c",
            "copy",
            str(portrait),
        ],
        check=True,
        timeout=60,
    )

    facts = check(portrait)
    frames, notes = read_frames(portrait, width=64, height=96, max_frames=4)

    assert (facts.width, facts.height) == (64, 96)
    assert {frame.size for frame in frames} == {(64, 96)}
    assert notes == []
