"""Running the ffmpeg that imageio-ffmpeg ships for a stage: a whole command that writes an mp4 to a
temporary name (renamed when complete, so the destination never holds half a video)."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

from processing_job.export import FFMPEG_TIMEOUT_S, ffmpeg_exe, h264_output_args


def partial_path(dst: Path) -> Path:
    return dst.with_name(f".{dst.name}.partial.mp4")


def encode(inputs: Sequence[str], filters: Sequence[str], dst: Path, *, what: str) -> None:
    """`ffmpeg <inputs> <filters> <H.264 faststart options> dst`, or RuntimeError with ffmpeg's words.

    `what` names the work for the error ("interpolate the frames")."""
    dst = Path(dst)
    partial = partial_path(dst)
    command = [
        ffmpeg_exe(),
        "-hide_banner",
        "-nostdin",
        "-y",
        "-loglevel",
        "error",
        *inputs,
        *filters,
        "-an",
        *h264_output_args(),
        str(partial),
    ]
    try:
        done = subprocess.run(command, capture_output=True, timeout=FFMPEG_TIMEOUT_S)
        if done.returncode != 0:
            raise RuntimeError(f"ffmpeg could not {what}: {done.stderr.decode(errors='replace')[-800:]}")
        partial.replace(dst)
    finally:
        partial.unlink(missing_ok=True)


def rate_text(fps: float) -> str:
    """A frame rate for ffmpeg's options, exact for whole numbers (8, 16, 24) and 29.97-like rates."""
    if abs(fps - round(fps)) < 1e-6:
        return str(round(fps))
    for den in (1001, 100, 1000):
        num = fps * den
        if abs(num - round(num)) < 1e-3:
            return f"{round(num)}/{den}"
    return f"{fps:.6f}"
