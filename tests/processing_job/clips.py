"""Real little videos for the stage tests, made by the ffmpeg that imageio-ffmpeg ships: ffmpeg's
`testsrc2` pattern (colour bars, a moving square and a running counter, so motion interpolation and
upscaling have something to work on), encoded like the job's own output."""

from __future__ import annotations

import subprocess
from pathlib import Path

from processing_job.export import ffmpeg_exe, h264_output_args


def make_clip(
    path: Path,
    *,
    frames: int = 9,
    width: int = 96,
    height: int = 64,
    fps: float = 8,
    codec: list[str] | None = None,
) -> Path:
    """`frames` frames of `testsrc2` at width×height and fps, written to `path` (H.264 mp4 unless
    `codec` gives other output options, e.g. ["-c:v", "libvpx-vp9"] for a .webm)."""
    command = [
        ffmpeg_exe(),
        "-hide_banner",
        "-nostdin",
        "-y",
        "-loglevel",
        "error",
        "-f",
        "lavfi",
        "-i",
        f"testsrc2=size={width}x{height}:rate={fps}",
        "-frames:v",
        str(frames),
        *(codec if codec is not None else h264_output_args()),
        str(path),
    ]
    subprocess.run(command, check=True, capture_output=True, timeout=120)
    return path
