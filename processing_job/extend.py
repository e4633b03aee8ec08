"""Extend: a clip continued from its last frame by the model family's image-to-video model, then joined.

The clip is checked (`video_input.check_video`) and must be the size the extension renders (a
continuation is joined frame for frame, not scaled); it is read at the spec's frame rate. Its last
frame is the picture the image-to-video render starts from, so the continuation's first frame is
that picture again and is dropped at the seam: the result is the clip followed by the new frames,
no frame repeated. Extending again is extending the result; the registry's `max_total_seconds`
bounds how long a clip may grow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from processing_job.restyle import MAX_INPUT_BYTES, MAX_INPUT_PIXELS
from processing_job.spec import JobSpec

if TYPE_CHECKING:
    import numpy as np

    from processing_job.video_input import VideoInput


@dataclass
class Extension:
    original: Any  # (F, H, W, 3) uint8 frames: the clip at the spec's size and frame rate
    last_frame: Any  # a PIL image: the picture the continuation starts from
    facts: VideoInput
    notes: list[str] = field(default_factory=list)


def clip_seconds(facts: VideoInput) -> float:
    return facts.frame_count / facts.fps if facts.fps else facts.duration_s


def prepare(spec: JobSpec, path: Path) -> Extension:
    """The clip at `path`, checked against `spec` and read; VideoInputError with a sentence when it
    can't be extended."""
    import numpy as np

    from processing_job.video_input import VideoInputError, check_video, read_frames

    info = spec.model_info
    facts = check_video(
        path, max_seconds=info.max_total_seconds, max_pixels=MAX_INPUT_PIXELS, max_bytes=MAX_INPUT_BYTES
    )
    if (facts.width, facts.height) != (spec.width, spec.height):
        raise VideoInputError(
            f"The clip is {facts.width}×{facts.height}, but the extension renders "
            f"{spec.width}×{spec.height}; {info.name} continues clips of a size it renders."
        )
    added = (spec.num_frames - 1) / spec.fps
    total = clip_seconds(facts) + added
    if total > info.max_total_seconds + 0.5 / spec.fps:
        raise VideoInputError(
            f"Extending this {clip_seconds(facts):.1f} s clip by {added:.1f} s would make it {total:.1f} s; "
            f"{info.name} extends clips to {info.max_total_seconds:g} s at most."
        )
    max_frames = round(info.max_total_seconds * spec.fps) + 1
    frames, notes = read_frames(
        path, width=spec.width, height=spec.height, max_frames=max_frames, fps=spec.fps
    )
    if not frames:
        raise VideoInputError("The clip has no frames to continue from.")
    original = np.stack([np.asarray(frame.convert("RGB"), dtype=np.uint8) for frame in frames])
    return Extension(original=original, last_frame=frames[-1].convert("RGB"), facts=facts, notes=list(notes))


def joined(original: np.ndarray, continuation: np.ndarray) -> np.ndarray:
    """The clip followed by its continuation, whose first frame (the clip's last, the picture it
    started from) is dropped: no frame repeats at the seam."""
    import numpy as np

    from processing_job.export import to_uint8

    return np.concatenate([to_uint8(original), to_uint8(continuation[1:])])
