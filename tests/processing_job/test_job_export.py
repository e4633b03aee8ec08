"""Videos are H.264 / yuv420p / faststart mp4s that Slack plays inline; the probe tells the truth."""

from __future__ import annotations

import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image

from processing_job.export import is_faststart, probe_video, to_uint8, write_mp4, write_poster


@pytest.fixture
def frames() -> np.ndarray:
    """17 frames of a gradient that moves, as floats in 0..1 like a pipeline returns them."""
    t, y, x = np.meshgrid(np.arange(17), np.arange(64), np.arange(96), indexing="ij")
    red = (x + 4 * t) % 96 / 95
    return np.stack([red, y / 63, np.full_like(red, 0.5)], axis=-1).astype(np.float32)


def test_an_mp4_is_h264_yuv420p_faststart_with_every_frame(frames, tmp_path):
    path = tmp_path / "video.mp4"
    write_mp4(frames, path, fps=8)
    info = probe_video(path)
    assert (info.codec, info.pix_fmt, info.faststart) == ("h264", "yuv420p", True)
    assert (info.frames, info.width, info.height, info.fps) == (17, 96, 64, 8.0)
    assert info.duration_s == pytest.approx(17 / 8, abs=0.01)
    assert info.size_bytes == path.stat().st_size
    assert [p.name for p in tmp_path.iterdir()] == ["video.mp4"]  # no partial file left behind


def test_an_mp4_with_its_index_at_the_end_is_not_faststart(frames, tmp_path):
    # imageio-ffmpeg's own writer (what diffusers' export_to_video uses) leaves moov after mdat.
    path = tmp_path / "slow.mp4"
    writer = imageio_ffmpeg.write_frames(str(path), (96, 64), fps=8, codec="libx264", macro_block_size=16)
    writer.send(None)
    for frame in to_uint8(frames):
        writer.send(np.ascontiguousarray(frame))
    writer.close()
    assert not is_faststart(path)
    assert probe_video(path).faststart is False


def test_the_poster_is_a_jpeg_of_the_middle_frame(frames, tmp_path):
    path = tmp_path / "poster.jpg"
    write_poster(frames, path)
    with Image.open(path) as image:
        assert (image.format, image.size) == ("JPEG", (96, 64))
        middle = np.asarray(image.convert("RGB"), dtype=np.int16)
    assert np.abs(middle - to_uint8(frames)[8]).mean() < 4  # JPEG is lossy, but it is that frame


def test_float_frames_are_rounded_into_bytes():
    frames = np.array([0.0, 0.5, 1.0, 1.2, -0.1], dtype=np.float32).reshape(1, 1, 5, 1).repeat(3, axis=-1)
    assert to_uint8(frames)[0, 0, :, 0].tolist() == [0, 128, 255, 255, 0]


def test_a_file_that_is_not_a_video_is_refused(tmp_path):
    path = tmp_path / "notes.mp4"
    path.write_text("not a video")
    with pytest.raises(ValueError):
        probe_video(path)
