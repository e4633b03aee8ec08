"""Running the ffmpeg that imageio-ffmpeg ships for a stage: a whole command that writes an mp4 to a
temporary name (renamed when complete, so the destination never holds half a video)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from processing_job.export import encode_mp4, partial_path
from processing_job.video_input import VideoInput, VideoInputError, check_video, rate_text

__all__ = ["checked", "encode", "partial_path", "rate_text"]


def encode(inputs: Sequence[str], filters: Sequence[str], dst: Path, *, what: str) -> None:
    """`ffmpeg <inputs> <filters> <H.264 faststart options> dst`, or RuntimeError with ffmpeg's words.

    `what` names the work for the error ("interpolate the frames")."""
    encode_mp4([*inputs, *filters], dst, what=what)


# What a stage takes from its inputs: our own renders and what earlier stages made of them (an
# upscaled 1.5 clip is 5440×3072), well past anything a person shares.
STAGE_MAX_SECONDS = 600.0
STAGE_MAX_PIXELS = 8192 * 4608
STAGE_MAX_BYTES = 4 * 2**30


def checked(src: Path, *, role: str = "The video") -> VideoInput:
    """`src` checked like a shared video (`video_input.check_video`), with a stage's limits; a
    StageError with the same sentence if it isn't usable. `role` names it in the sentence."""
    from processing_job.stages import StageError

    try:
        return check_video(
            Path(src), max_seconds=STAGE_MAX_SECONDS, max_pixels=STAGE_MAX_PIXELS, max_bytes=STAGE_MAX_BYTES
        )
    except VideoInputError as error:
        message = str(error)
        if role != "The video" and message.startswith("The video"):
            message = role + message.removeprefix("The video")
        raise StageError(message) from error
