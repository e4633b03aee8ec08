"""Where a storyboard's cut is joined: in the job-events function, or in a join processing job.

    .venv/bin/python -m bench.storyboard [--quick]     (prints the Markdown section; `make bench` collects it)

Times `processing_job.stages.join` (ffmpeg's `xfade` crossfades, H.264 as the job writes) on N clips
of CogVideoX's output size (49 frames, 720×480, 8 fps), in this process, as the job-events Lambda would
run it, and sets it beside what a join job costs before it starts: a SageMaker processing job
provisions an instance and pulls its image first, which the cost section assumes at JOB_OVERHEAD_S
(an ASSUMPTION, not measured here: there is no AWS in this run). The fastest of a few runs each.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from bench.cost import JOB_OVERHEAD_S
from bench.section import Say, Section, section_main
from bench.stages import _clip
from bench.stats import table

FRAMES, WIDTH, HEIGHT, FPS = 49, 720, 480, 8
CROSSFADE_S = 0.5  # bot/conversation/storyboards.py: CROSSFADE_S
LAMBDA_TIMEOUT_S = 900  # a Lambda's longest run


def section(say: Say, *, quick: bool = False, **_: Any) -> Section:
    from processing_job.export import probe_video
    from processing_job.stages.join import join

    counts = (2, 4) if quick else (2, 4, 8)
    rounds = 1  # a join of 8 shots takes about a minute on 2 cores; the machines are noisy either way
    rows, figures = [], {}
    with tempfile.TemporaryDirectory(prefix="videobot-storyboard-") as scratch:
        work = Path(scratch)
        say("storyboard bench: making the clips")
        clips = [_clip(work / f"shot{i}.mp4", FRAMES, WIDTH, HEIGHT, FPS) for i in range(max(counts))]
        for count in counts:
            out = work / f"cut{count}.mp4"
            say(f"storyboard bench: joining {count} clips")
            times = []
            for _ in range(rounds):
                started = time.perf_counter()
                join(clips[:count], out, crossfade_s=CROSSFADE_S)
                times.append(time.perf_counter() - started)
            seconds = min(times)
            frames = probe_video(out).frames
            figures[str(count)] = {"join_s": seconds, "frames": frames}
            rows.append(
                [
                    str(count),
                    f"{frames}",
                    f"{seconds:.2f}",
                    f"{JOB_OVERHEAD_S[0]:.0f}–{JOB_OVERHEAD_S[1]:.0f} + {seconds:.0f}",
                    f"{JOB_OVERHEAD_S[0] / seconds:.0f}×",
                ]
            )
    longest = figures[str(max(counts))]["join_s"]
    markdown = "\n".join(
        [
            "## Storyboard cut: joined in the job-events function or by a join job",
            "",
            f"N shots of {FRAMES} frames {WIDTH}×{HEIGHT} at {FPS} fps joined with {CROSSFADE_S} s "
            "crossfades by `processing_job.stages.join`, in this process (as the job-events function "
            f"would), {rounds} run each; a join processing job's start-up (instance, image pull) is the "
            f"cost section's ASSUMED {JOB_OVERHEAD_S[0]:.0f}–{JOB_OVERHEAD_S[1]:.0f} s, not measured here.",
            "",
            table(
                [
                    "shots",
                    "cut frames",
                    "join in-process (s)",
                    "join job (s, start-up + join)",
                    "start-up ÷ join",
                ],
                rows,
            ),
            "",
            f"Joining in the function saves the job's start-up at every size here ({longest:.1f} s for "
            f"{max(counts)} shots, inside a Lambda's {LAMBDA_TIMEOUT_S} s, though a Lambda's vCPUs are "
            "fewer than this machine's at small memory sizes). Chosen for now: the join job, the one "
            "path locally and on AWS, which needs nothing new in the bot's Lambda bundle (the in-process "
            "join needs ffmpeg, imageio-ffmpeg's ~70 MB, in the job-events function, the clips copied "
            "to its /tmp, and more memory for vCPUs); it is the change to make for 2-4 shots once that "
            "bundle has room. A warm render job would take the join without the start-up.",
        ]
    )
    headline = (
        f"Storyboard cut: {max(counts)} shots join in {longest:.1f} s in-process vs "
        f"{JOB_OVERHEAD_S[0]:.0f}–{JOB_OVERHEAD_S[1]:.0f} s assumed start-up for a join job"
    )
    return Section("storyboard", markdown, figures, headline)


if __name__ == "__main__":
    section_main(section)
