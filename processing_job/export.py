"""Frames to files people can play: an H.264 mp4 and a JPEG poster, and a probe to check them.

The mp4 is what Slack and browsers play inline: H.264 (libx264), yuv420p, `moov` before `mdat`
(`-movflags +faststart`, which diffusers' `export_to_video` leaves out). Everything goes through the
ffmpeg binary that ships with `imageio-ffmpeg`; there is no ffprobe, so `probe_video` reads
`ffmpeg -i` and walks the MP4's top-level boxes itself.

numpy and Pillow are imported where frames are handled, so `probe_video` needs only imageio-ffmpeg.
"""

from __future__ import annotations

import os
import re
import struct
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

# 18 is visually lossless for x264 and these clips are short: a 6 s 720×480 clip stays a few MB.
DEFAULT_CRF = 18
FFMPEG_TIMEOUT_S = 600


@dataclass(frozen=True)
class VideoInfo:
    codec: str
    pix_fmt: str
    width: int
    height: int
    frames: int
    fps: float
    duration_s: float
    faststart: bool
    size_bytes: int


def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def to_uint8(frames: np.ndarray) -> np.ndarray:
    """(F, H, W, 3) frames as uint8: floats are read as 0..1 (what diffusers returns), rounded."""
    import numpy as np

    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"Expected frames shaped (frames, height, width, 3), not {frames.shape}.")
    if frames.dtype == np.uint8:
        return frames
    return (np.clip(frames, 0.0, 1.0) * 255.0).round().astype(np.uint8)


def write_mp4(frames: np.ndarray, path: Path, fps: int, *, crf: int = DEFAULT_CRF) -> None:
    """Encode (F, H, W, 3) frames (uint8, or floats in 0..1) as a faststart H.264 mp4.

    Written to a temporary name and renamed, so `path` never holds half a video.
    """
    import numpy as np

    pixels = np.ascontiguousarray(to_uint8(frames))
    count, height, width, _ = pixels.shape
    if count == 0:
        raise ValueError("There are no frames to write.")
    if height % 2 or width % 2:
        raise ValueError(f"yuv420p needs an even width and height, not {width}×{height}.")
    path = Path(path)
    encode_mp4(
        [
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-s",
            f"{width}x{height}",
            "-r",
            str(fps),
            "-i",
            "pipe:0",
        ],
        path,
        what="encode the video",
        crf=crf,
        stdin=memoryview(pixels),
    )


def partial_path(dst: Path) -> Path:
    """Where an mp4 is written until ffmpeg has finished it: `dst` never holds half a video."""
    return dst.with_name(f".{dst.name}.partial.mp4")


def encode_mp4(
    args: Sequence[str],
    dst: Path,
    *,
    what: str,
    crf: int = DEFAULT_CRF,
    stdin: bytes | memoryview | None = None,
) -> None:
    """`ffmpeg <args> <H.264 faststart options>` into `dst` (through `partial_path`), or RuntimeError
    with ffmpeg's own words; `what` names the work ("encode the video", "interpolate the frames").
    Every mp4 the job writes goes through here, so all are encoded alike."""
    dst = Path(dst)
    partial = partial_path(dst)
    command = [
        ffmpeg_exe(),
        "-hide_banner",
        "-nostdin",
        "-y",
        "-loglevel",
        "error",
        *args,
        "-an",
        *h264_output_args(crf),
        str(partial),
    ]
    try:
        done = subprocess.run(command, input=stdin, capture_output=True, timeout=FFMPEG_TIMEOUT_S)
        if done.returncode != 0:
            raise RuntimeError(f"ffmpeg could not {what}: {done.stderr.decode(errors='replace')[-800:]}")
        partial.replace(dst)
    finally:
        partial.unlink(missing_ok=True)


def h264_output_args(crf: int = DEFAULT_CRF) -> list[str]:
    """ffmpeg's output options for a video Slack and browsers play inline: H.264 (libx264), yuv420p,
    the index first (faststart). Shared by every writer, so all the job's mp4s are encoded alike."""
    return [
        "-c:v",
        "libx264",
        "-preset",
        "medium",
        "-crf",
        str(crf),
        "-pix_fmt",
        "yuv420p",
        "-movflags",
        "+faststart",
    ]


def poster_index(frame_count: int) -> int:
    """The frame that stands for the clip: the middle one (the first is often still settling)."""
    return frame_count // 2


def write_poster(frames: np.ndarray, path: Path, *, quality: int = 90) -> None:
    from PIL import Image

    pixels = to_uint8(frames)
    if len(pixels) == 0:
        raise ValueError("There are no frames to make a poster from.")
    Image.fromarray(pixels[poster_index(len(pixels))]).save(path, format="JPEG", quality=quality)


def write_poster_from_video(video: Path, path: Path, *, quality: int = 90) -> None:
    """The poster of a finished video file (after its stages, at its final size): its middle frame."""
    import imageio_ffmpeg
    import numpy as np

    reader = imageio_ffmpeg.read_frames(str(video))
    meta = next(reader)
    width, height = meta["size"]
    frames, _ = imageio_ffmpeg.count_frames_and_secs(str(video))
    wanted = poster_index(frames)
    try:
        for index, raw in enumerate(reader):
            if index == wanted:
                pixels = np.frombuffer(raw, dtype=np.uint8).reshape(1, height, width, 3)
                write_poster(pixels, path, quality=quality)
                return
    finally:
        reader.close()
    raise ValueError(f"{video} has no frame {wanted} to make a poster from.")


_STREAM = re.compile(r"Stream #\S+: Video: (?P<codec>\w+)[^,]*, (?P<pix_fmt>\w+)")
_SIZE = re.compile(r", (?P<w>\d+)x(?P<h>\d+)[ ,]")
_FPS = re.compile(r", (?P<fps>[\d.]+) fps")
_DURATION = re.compile(r"Duration: (?P<h>\d+):(?P<m>\d+):(?P<s>[\d.]+)")


def probe_video(path: Path) -> VideoInfo:
    """What a video file really holds, read back with ffmpeg (frames are counted by decoding)."""
    import imageio_ffmpeg

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No video at {path}")
    # `ffmpeg -i` without an output describes the input on stderr and exits 1: that's expected.
    described = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path)],
        capture_output=True,
        text=True,
        errors="replace",
        timeout=FFMPEG_TIMEOUT_S,
    ).stderr
    stream_line = next((line for line in described.splitlines() if "Video:" in line), None)
    if stream_line is None:
        raise ValueError(f"{path} has no video stream: {described[-500:]}")
    stream, size, fps = _STREAM.search(stream_line), _SIZE.search(stream_line), _FPS.search(stream_line)
    if not (stream and size):
        raise ValueError(f"Could not read the video stream of {path}: {stream_line.strip()}")
    frames, _ = imageio_ffmpeg.count_frames_and_secs(str(path))
    rate = float(fps["fps"]) if fps else 0.0
    duration = _DURATION.search(described)
    seconds = (
        int(duration["h"]) * 3600 + int(duration["m"]) * 60 + float(duration["s"])
        if duration
        else (frames / rate if rate else 0.0)
    )
    return VideoInfo(
        codec=stream["codec"],
        pix_fmt=stream["pix_fmt"],
        width=int(size["w"]),
        height=int(size["h"]),
        frames=int(frames),
        fps=rate,
        duration_s=round(seconds, 3),
        faststart=is_faststart(path),
        size_bytes=path.stat().st_size,
    )


def top_level_boxes(path: Path) -> list[str]:
    """The types of an MP4's top-level boxes, in file order (ftyp, moov, mdat, ...)."""
    boxes = []
    size_on_disk = os.path.getsize(path)
    with open(path, "rb") as file:
        offset = 0
        while offset + 8 <= size_on_disk:
            file.seek(offset)
            size, kind = struct.unpack(">I4s", file.read(8))
            if size == 1:  # a 64-bit size follows the type
                (size,) = struct.unpack(">Q", file.read(8))
            elif size == 0:  # the box runs to the end of the file
                size = size_on_disk - offset
            if size < 8:
                break  # corrupt: stop rather than loop forever
            boxes.append(kind.decode("latin-1"))
            offset += size
    return boxes


def is_faststart(path: Path) -> bool:
    """Whether `moov` (the index) comes before `mdat` (the media), so playback can start at once."""
    boxes = top_level_boxes(path)
    return "moov" in boxes and "mdat" in boxes and boxes.index("moov") < boxes.index("mdat")
