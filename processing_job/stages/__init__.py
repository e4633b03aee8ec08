"""The stages a render can go through after generation: `smooth` (interpolate frames), `upscale`
(Real-ESRGAN or Lanczos) and `join` (several clips into one cut). Each takes mp4 files and writes an
mp4 like `export.write_mp4` does (H.264, yuv420p, faststart), and returns a `StageReport` for
result.json: what ran, how long it took, with which parameters, and sentences for the person.

Each stage is one documented library call (ffmpeg's `minterpolate`, `scale`, `concat` and `xfade`
filters; spandrel for Real-ESRGAN), never a fork of one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class StageReport:
    name: str  # smooth, upscale, join
    seconds: float  # wall time of the stage
    params: dict[str, Any] = field(default_factory=dict)  # what it did, as numbers (for result.json)
    notes: list[str] = field(default_factory=list)  # sentences for the person, shown under the video

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class StageError(ValueError):
    """A stage that can't run on what it was given; the message is a sentence for the person."""
