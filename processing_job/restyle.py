"""Video to video: the clip a person wants restyled, checked before anything decodes it, then fitted to
what the model renders (its size, its frame rate, and a frame count its rule allows).

The checks and the decoding are `processing_job.video_input`'s (`check_video`, `read_frames`); this
module holds the limits and the model's frame rule. The render itself is the family's
video-to-video pipeline (CogVideoXVideoToVideoPipeline, WanVideoToVideoPipeline) at the spec's
`strength`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from processing_job.spec import JobSpec

if TYPE_CHECKING:
    from processing_job.video_input import VideoInput

# What a shared clip may be: longer than any model renders (the frames it can't take are trimmed),
# but not a film; up to 4K; and what fits in a Slack upload.
MAX_INPUT_SECONDS = 120.0
MAX_INPUT_PIXELS = 3840 * 2160
MAX_INPUT_BYTES = 500 * 2**20


@dataclass
class RestyleInput:
    frames: list[Any]  # PIL images at the spec's size and frame rate, a count the model allows
    facts: VideoInput
    notes: list[str] = field(default_factory=list)  # what was changed to fit, one sentence each


def fit_clip(spec: JobSpec, path: Path) -> RestyleInput:
    """The clip at `path` checked and fitted to `spec`'s model; VideoInputError with a sentence when
    it can't be used."""
    from processing_job.video_input import VideoInputError, check_video, read_frames

    info = spec.model_info
    facts = check_video(
        path, max_seconds=MAX_INPUT_SECONDS, max_pixels=MAX_INPUT_PIXELS, max_bytes=MAX_INPUT_BYTES
    )
    frames, notes = read_frames(
        path, width=spec.width, height=spec.height, max_frames=spec.num_frames, fps=spec.fps
    )
    allowed = [count for count in info.allowed_frame_counts() if count <= len(frames)]
    if not allowed:
        shortest = info.allowed_frame_counts()[0]
        raise VideoInputError(
            f"The clip is too short to restyle: {info.name} needs at least {shortest} frames "
            f"({shortest / spec.fps:.2f} s at {spec.fps} fps), and it has {len(frames)}."
        )
    if allowed[-1] < len(frames):
        notes.append(
            f"The clip was cut to {allowed[-1]} frames: {info.name} restyles {info.frame_step}N+1 frames."
        )
        frames = frames[: allowed[-1]]
    return RestyleInput(frames=list(frames), facts=facts, notes=list(notes))
