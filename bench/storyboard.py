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
EVENTS_TIMEOUT_S = 300  # the job-events function's timeout (infra/)
ROUNDS = 1  # a join of 8 shots takes over a minute on 2 cores; the machines are noisy either way


def section(say: Say, *, quick: bool = False, **_: Any) -> Section:
    from processing_job.export import probe_video
    from processing_job.stages.join import join

    counts = (2, 4) if quick else (2, 4, 8)
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="videobot-storyboard-") as scratch:
        work = Path(scratch)
        say("storyboard bench: making the clips")
        clips = [_clip(work / f"shot{i}.mp4", FRAMES, WIDTH, HEIGHT, FPS) for i in range(max(counts))]
        for count in counts:
            out = work / f"cut{count}.mp4"
            say(f"storyboard bench: joining {count} clips")
            times = []
            for _ in range(ROUNDS):
                started = time.perf_counter()
                join(clips[:count], out, crossfade_s=CROSSFADE_S)
                times.append(time.perf_counter() - started)
            figures[str(count)] = {"join_s": min(times), "frames": probe_video(out).frames}
    return report(figures)


def report(figures: dict[str, Any]) -> Section:
    """The section from its figures ({shots: {join_s, frames}})."""
    counts = sorted(int(count) for count in figures)
    rows = []
    for count in counts:
        seconds, frames = figures[str(count)]["join_s"], figures[str(count)]["frames"]
        rows.append(
            [
                str(count),
                str(frames),
                f"{seconds:.2f}",
                f"{JOB_OVERHEAD_S[0]:.0f}–{JOB_OVERHEAD_S[1]:.0f} + {seconds:.0f}",
                f"{JOB_OVERHEAD_S[0] / seconds:.1f}–{JOB_OVERHEAD_S[1] / seconds:.1f}×",
            ]
        )
    longest = figures[str(max(counts))]["join_s"]
    markdown = "\n".join(
        [
            "## Storyboard cut: joined in the job-events function or by a join job",
            "",
            f"N shots of {FRAMES} frames {WIDTH}×{HEIGHT} at {FPS} fps joined with {CROSSFADE_S} s "
            "crossfades by `processing_job.stages.join`, in this process (as the job-events function "
            f"would), {ROUNDS} run each; a join processing job's start-up (instance, image pull) is the "
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
            f"Joining in the function saves the job's start-up at every size here, but not by much for "
            f"many shots: {longest:.0f} s for {max(counts)} shots on this machine's 2 shared cores, against "
            f"the job-events function's {EVENTS_TIMEOUT_S // 60}-minute timeout (`infra/`), on fewer vCPUs "
            "at its memory size. Chosen for now: the join job, the one path locally and on AWS, which "
            "needs nothing new in the bot's Lambda bundle (joining there needs ffmpeg, imageio-ffmpeg's "
            "~70 MB, in the function, the clips copied to its /tmp, and more memory for vCPUs). The change "
            "to make for 2-4 shots once that bundle has room; a warm render job would take the join "
            "without the start-up.",
        ]
    )
    headline = (
        f"**Storyboard cut**: {max(counts)} shots (49 × 720×480 each) join in {longest:.0f} s in-process "
        f"vs {JOB_OVERHEAD_S[0]:.0f}–{JOB_OVERHEAD_S[1]:.0f} s assumed start-up + the join for a join job "
        "(chosen: the join job, one path everywhere)."
    )
    return Section("storyboard", markdown, figures, headline)


if __name__ == "__main__":
    section_main(section)
