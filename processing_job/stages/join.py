"""Join: several clips into one cut (a storyboard's shots, an extended render), with ffmpeg's
`concat` filter for hard cuts or a chain of `xfade` filters for crossfades.

The cut takes the first clip's size and frame rate. Other clips are converted to match, never
stretched: the `fps` filter for the rate, `scale` (Lanczos, to fit inside) and `pad` (centred black
bars) for the size; the report says which clips were changed and how.

With a crossfade of c frames, each clip after the first starts c frames before the previous one
ends: clip k's fade begins at offset_k = (frames of clips 0..k-1) / fps − k × c / fps, and the cut
has (sum of the clips' frames) − (n − 1) × c frames. The crossfade is rounded to whole frames.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from processing_job.stages import StageError, StageReport
from processing_job.stages._ffmpeg import checked, encode, rate_text
from processing_job.video_input import VideoInput

TRANSITION = "fade"  # xfade's plain cross-dissolve


def join(clips: Sequence[Path], dst: Path, *, crossfade_s: float = 0.0) -> StageReport:
    """`clips` one after another in `dst` (H.264, yuv420p, faststart), at the first clip's size and
    rate; hard cuts, or crossfades of `crossfade_s` seconds."""
    started = time.perf_counter()
    # 1. Check the inputs.
    if len(clips) < 2:
        raise StageError("Joining needs at least two clips; there is nothing to join to a single one.")
    if crossfade_s < 0:
        raise StageError(f"A crossfade can't last {crossfade_s:g} seconds; it needs 0 or more.")
    facts = [checked(clip, role=f"Clip {number}") for number, clip in enumerate(clips, start=1)]
    first = facts[0]
    width, height, fps = first.width, first.height, first.fps
    frames = [_frames_at(fact, fps) for fact in facts]
    fade = round(crossfade_s * fps)
    _check_crossfade(crossfade_s, fade, frames, fps)
    # 2. One chain per clip that brings it to the cut's rate and size.
    chains = [
        f"[{i}:v:0]fps={rate_text(fps)},"
        f"scale={width}:{height}:force_original_aspect_ratio=decrease:flags=lanczos,"
        f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1,format=yuv420p[v{i}]"
        for i in range(len(clips))
    ]
    # 3. Hard cuts or crossfades.
    if fade == 0:
        labels = "".join(f"[v{i}]" for i in range(len(clips)))
        chains.append(f"{labels}concat=n={len(clips)}:v=1:a=0[cut]")
    else:
        previous, elapsed = "v0", 0
        for k in range(1, len(clips)):
            elapsed += frames[k - 1]
            offset = (elapsed - k * fade) / fps
            out = "cut" if k == len(clips) - 1 else f"x{k}"
            chains.append(
                f"[{previous}][v{k}]xfade=transition={TRANSITION}:duration={fade / fps:.6f}:"
                f"offset={offset:.6f}[{out}]"
            )
            previous = out
    expected = sum(frames) - (len(clips) - 1) * fade
    inputs = [arg for clip in clips for arg in ("-i", str(clip))]
    encode(
        inputs,
        ["-filter_complex", ";".join(chains), "-map", "[cut]", "-frames:v", str(expected)],
        Path(dst),
        what="join the clips",
    )
    params = {
        "clips": len(clips),
        "width": width,
        "height": height,
        "fps": fps,
        "crossfade_frames": fade,
        "crossfade_s": round(fade / fps, 3),
        "frames_in": [fact.frame_count for fact in facts],
        "frames_out": expected,
    }
    notes = [f"joined {len(clips)} clips" + (f" with {fade / fps:.2g} s crossfades" if fade else "")]
    notes += [
        note for number, fact in enumerate(facts[1:], start=2) if (note := _conversion(number, fact, first))
    ]
    return StageReport("join", round(time.perf_counter() - started, 3), params, notes)


def _frames_at(fact: VideoInput, fps: float) -> int:
    """How many frames a clip has once the `fps` filter has brought it to `fps`."""
    if abs(fact.fps - fps) < 1e-3:
        return fact.frame_count
    return max(1, round(fact.frame_count * fps / fact.fps))


def _check_crossfade(crossfade_s: float, fade: int, frames: list[int], fps: float) -> None:
    for number, count in enumerate(frames, start=1):
        middle = 1 < number < len(frames)
        needed = 2 * fade if middle else fade
        if fade and count <= needed:
            raise StageError(
                f"A {crossfade_s:g} s crossfade is too long for clip {number}, which lasts "
                f"{count / fps:.2g} s"
                + (" and fades in and out" if middle else "")
                + ". Please choose a shorter crossfade."
            )


def _conversion(number: int, fact: VideoInput, first: VideoInput) -> str:
    changes = []
    if (fact.width, fact.height) != (first.width, first.height):
        fits = fact.width * first.height == fact.height * first.width
        changes.append(
            f"scaled from {fact.width}×{fact.height} to "
            + (
                f"{first.width}×{first.height}"
                if fits
                else f"fit {first.width}×{first.height} with black bars"
            )
        )
    if abs(fact.fps - first.fps) >= 1e-3:
        changes.append(f"converted from {fact.fps:g} to {first.fps:g} frames a second")
    return f"clip {number} was " + " and ".join(changes) + " to match the first" if changes else ""
