"""Smooth: more frames a second, same duration, by ffmpeg's motion-compensated frame interpolation
(the `minterpolate` filter: no weights, no GPU).

The options, and why:
- `mi_mode=mci`: motion-compensated interpolation; `blend` would cross-fade and ghost, `dup` repeat;
- `mc_mode=aobmc`: adaptive overlapped blocks, which soften the block edges plain `obmc` leaves
  where motion is uneven (generated video has a lot of that);
- `me_mode=bidir` with `me=epzs` (ffmpeg's defaults, named so they don't drift): motion searched from
  both neighbouring frames;
- `vsbmc=1`: variable-size blocks, finer along moving edges;
- `scd=fdiff` (default, frame difference): at a scene cut (a joined storyboard) frames are
  repeated, not morphed across it.

Frame count: a clip of n frames becomes exactly n × factor frames at factor × the rate, so its
duration is unchanged and the last source frame is held for its whole duration, as in the source.
(`minterpolate` stops one source frame short of the end, since it needs a frame after each gap:
the last frame is cloned twice with `tpad` and the output cut at n × factor.)
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from processing_job.stages import StageError, StageReport
from processing_job.stages._ffmpeg import checked, encode, rate_text

FACTORS = (1, 2, 3)
MINTERPOLATE = "mi_mode=mci:mc_mode=aobmc:me_mode=bidir:me=epzs:vsbmc=1:scd=fdiff"


def smooth(src: Path, dst: Path, *, factor: int) -> StageReport:
    """`src` at `factor` × its frame rate, same duration, written to `dst` (H.264, yuv420p, faststart).
    factor 1 copies the file unchanged."""
    started = time.perf_counter()
    if factor not in FACTORS:
        raise StageError(f"Smoothing can make a video 2 or 3 times as fluid, not {factor} times.")
    source = checked(src)
    frames = source.frame_count * factor
    params = {
        "factor": factor,
        "fps_in": source.fps,
        "fps_out": source.fps * factor,
        "frames_in": source.frame_count,
        "frames_out": frames,
    }
    if factor == 1:
        shutil.copyfile(src, dst)
        notes = ["left the frame rate as it was (smoothing factor 1)"]
    else:
        rate = rate_text(source.fps * factor)
        encode(
            ["-i", str(src)],
            [
                "-map",
                "0:v:0",
                "-vf",
                f"tpad=stop_mode=clone:stop=2,minterpolate=fps={rate}:{MINTERPOLATE}",
                "-frames:v",
                str(frames),
            ],
            Path(dst),
            what="interpolate the frames",
        )
        params["filter"] = f"minterpolate={MINTERPOLATE}"
        notes = [
            f"smoothed from {source.fps:g} to {source.fps * factor:g} frames a second with "
            "motion-compensated interpolation"
        ]
    return StageReport("smooth", round(time.perf_counter() - started, 3), params, notes)
