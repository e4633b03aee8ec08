"""Warm renders against one job per render, in the same run.

    .venv/bin/python -m bench.warm [--quick]     (prints the Markdown section; `make bench` collects it)

Local, MEASURED: the local runner (`bot.jobs.launchers.local`) with the tiny pipeline on this CPU,
its warm worker (one process keeps the pipeline loaded) against a process per render. A burst of
renders launched at once counts the processes started and the model loads; renders launched one after
another (each when the one before has ended, as a person's draft → reroll → final loop does) time
Generate → the first denoising step, for the first render and for the following ones.

SageMaker, SIMULATED: no AWS is reachable here, so the start-up, weight-read, load and render times
below are assumptions (stated in the table), and the launches and loads come from running the bot's
real dispatch rule (`processing_job.warm.HostBeat.can_take`, the warm window and the budget) over
those times for renders arriving in a burst. The idle cost is the instance's price per hour (the
prices in `bot.conversation.costs`, unverified, as in the cost section).
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.section import Say, Section, section_main
from bench.stats import table

# ---------------------------------------------------------------------------------- simulated times

PROVISION_S = 120.0  # instance provisioned and image pulled (assumed; the slimmer the image, the less)
WEIGHTS_GB = 20.0  # CogVideoX-5B's staged folder
FILE_MODE_GBPS = 0.25  # SageMaker's File-mode copy before the container starts (assumed)
RANGED_GBPS = 1.2  # 32 parallel ranged GETs of 16 MiB (assumed; a 25 Gbit/s NIC allows ~3)
IMPORTS_S = 15.0  # python, torch and diffusers imported while the weights arrive (assumed)
LOAD_S = 25.0  # from the local volume onto the GPU (assumed)
RENDER_S = 120.0  # one render, first step to the video uploaded (assumed: drafts and finals mixed)
POLL_S = 2.0  # a warm job looks for work this often (processing_job.warm.DEFAULT_POLL_S)
HANDOVER_S = 1.0 + POLL_S / 2  # its inputs read from S3, and half a poll on average
WINDOW_S = 300.0  # the default idle window (VIDEOBOT_WARM_IDLE_S)
WAIT_S = 120.0  # a render waits at most this long for a warm job (VIDEOBOT_WARM_WAIT_S)
BUDGET_S = 3600.0 - 300.0  # MaxRuntime 1 h less its margin; the cost cap may bound it sooner
BURSTS = {"10 at once": 0.0, "10, one a minute": 60.0, "10, one every 3 minutes": 180.0}
INSTANCES = ("ml.g5.2xlarge", "ml.g6e.2xlarge")


def start_up_s(*, ranged: bool) -> float:
    """Launch → the first denoising step of a new job."""
    weights = WEIGHTS_GB / (RANGED_GBPS if ranged else FILE_MODE_GBPS)
    if ranged:  # read while it starts: only what the imports don't cover
        return PROVISION_S + max(IMPORTS_S, weights) + LOAD_S
    return PROVISION_S + weights + IMPORTS_S + LOAD_S


@dataclass
class SimJob:
    launched: float
    first_step: float
    free_at: float  # when its current work ends
    renders: int = 1

    def beat(self, now: float) -> Any:
        """Its heartbeat at `now`, as the warm loop writes it; None before it reached the loop."""
        from processing_job.warm import BUSY, IDLE, HostBeat

        first_end = self.first_step + RENDER_S
        if now < first_end or now > self.free_at + WINDOW_S:
            return None  # still on its first render (no beat yet counted on), or gone
        busy = now < self.free_at
        return HostBeat(
            host="sim",
            pool="sim",
            state=BUSY if busy else IDLE,
            updated=now,
            free_at=max(now, self.free_at),
            render_s=RENDER_S,
            last_start_at=self.launched + BUDGET_S - RENDER_S,
            idle_until=self.free_at + WINDOW_S,
        )


def simulate(gap_s: float, *, warm: bool, ranged: bool, renders: int = 10) -> dict[str, Any]:
    """Launches, loads and Generate → first step for `renders` arriving `gap_s` apart."""
    jobs: list[SimJob] = []
    waits: list[float] = []
    for index in range(renders):
        now = index * gap_s
        taker = None
        if warm:
            for job in jobs:
                beat = job.beat(now)
                if beat is not None and beat.can_take(now, ahead=0, within_s=WAIT_S):
                    taker = job
                    break
        if taker is None:
            first = now + start_up_s(ranged=ranged)
            jobs.append(SimJob(launched=now, first_step=first, free_at=first + RENDER_S))
            waits.append(first - now)
        else:
            start = max(now, taker.free_at) + HANDOVER_S
            taker.free_at = start + RENDER_S
            taker.renders += 1
            waits.append(start - now)
    return {
        "launches": len(jobs),
        "loads": len(jobs),
        "first_s": waits[0],
        "following_s": statistics.median(waits[1:]),
        "gpu_s": sum(job.free_at - job.launched + (WINDOW_S if warm else 0.0) for job in jobs),
    }


# ------------------------------------------------------------------------------------ measured, local


@dataclass
class LocalRun:
    starts: int = 0
    loads: int = 0
    first_step_s: list[float] = field(default_factory=list)


def _job(index: int) -> Any:
    from bot.conversation.sessions import DraftOptions, new_draft, plan_job, set_draft, start_session

    session = start_session(channel="CBENCH", thread_ts=f"{index}.000001", owner="UB", idea="a fox", now=1)
    draft = new_draft(
        DraftOptions(num_frames=9, num_inference_steps=4),
        prompt="A fox.",
        default_model="tiny",
        seed=1,
        refined_by="",
    )
    return plan_job(set_draft(session, draft, now=1), user="UB", admins=frozenset(), now=2)


def measure_local(renders: int, *, warm: bool, burst: bool, scratch: Path, model_cache: Path) -> LocalRun:
    from bot.adapters.blobs import render_key
    from bot.adapters.blobs.filesystem import FilesystemBlobStore
    from bot.jobs.launchers.local import LocalJobLauncher

    first_step: dict[str, float] = {}

    def report(event: dict[str, Any]) -> None:
        detail = event["detail"]
        if event["source"] == "videobot.render" and detail.get("phase") == "denoising" and detail.get("step"):
            first_step.setdefault(detail["job_id"], time.perf_counter())

    folder = Path(tempfile.mkdtemp(dir=scratch))
    blobs = FilesystemBlobStore(folder / "blobs")
    launcher = LocalJobLauncher(
        root=folder / "jobs",
        blobs=blobs,
        report=report,
        model_cache=model_cache,
        warm_idle_s=300.0 if warm else 0.0,
        extra_env={"VIDEOBOT_PROGRESS_INTERVAL_S": "0"},
    )
    run = LocalRun()
    jobs = [_job(index) for index in range(renders)]
    launched: dict[str, float] = {}
    try:
        for job in jobs:
            launched[job.job_id] = time.perf_counter()
            launcher.launch(job, job.job_spec)
            if not burst:
                launcher.wait_idle(timeout=600)
        launcher.wait_idle(timeout=1200)
    finally:
        launcher.shutdown()
    for job in jobs:
        with blobs.open(render_key(job.job_id, "result.json")) as data:
            result = json.loads(data.read())
        run.loads += 0 if result["pipeline"]["reused"] else 1
        run.first_step_s.append(first_step[job.job_id] - launched[job.job_id])
    run.starts = launcher.workers_started if warm else renders
    return run


# ------------------------------------------------------------------------------------------- report


def run(say: Say, *, quick: bool = False) -> Section:
    from bot.conversation.costs import DEFAULT_PRICES_PER_HOUR
    from processing_job.models import resolve_model
    from processing_job.tiny import ensure_tiny_model

    burst_n, sequence_n = (3, 3) if quick else (10, 4)
    with tempfile.TemporaryDirectory(prefix="videobot-warm-") as scratch:
        model_cache = Path(scratch) / "models"
        ensure_tiny_model(model_cache, resolve_model("tiny").key)  # built once, outside the timings
        local: dict[str, dict[str, LocalRun]] = {}
        for mode, warm in (("warm worker", True), ("process per render", False)):
            say(f"warm: local {mode}, a burst of {burst_n}, then {sequence_n} one after another")
            local[mode] = {
                "burst": measure_local(
                    burst_n, warm=warm, burst=True, scratch=Path(scratch), model_cache=model_cache
                ),
                "sequence": measure_local(
                    sequence_n, warm=warm, burst=False, scratch=Path(scratch), model_cache=model_cache
                ),
            }

    local_rows = []
    figures: dict[str, Any] = {"local": {}, "sagemaker": {}}
    for mode, runs in local.items():
        sequence = runs["sequence"].first_step_s
        following = statistics.median(sequence[1:])
        local_rows.append(
            [
                mode,
                str(runs["burst"].starts),
                str(runs["burst"].loads),
                f"{sequence[0]:.2f} s",
                f"{following:.2f} s",
            ]
        )
        figures["local"][mode] = {
            "burst": burst_n,
            "starts": runs["burst"].starts,
            "loads": runs["burst"].loads,
            "first_s": sequence[0],
            "following_s": following,
        }
    warm_following = figures["local"]["warm worker"]["following_s"]
    cold_following = figures["local"]["process per render"]["following_s"]

    sim_rows = []
    for label, gap in BURSTS.items():
        for mode, warm, ranged in (
            ("one job per render, File mode", False, False),
            ("one job per render, ranged reads", False, True),
            ("warm jobs, ranged reads", True, True),
        ):
            found = simulate(gap, warm=warm, ranged=ranged)
            figures["sagemaker"][f"{label} / {mode}"] = found
            sim_rows.append(
                [
                    label,
                    mode,
                    str(found["launches"]),
                    str(found["loads"]),
                    f"{found['first_s']:.0f} s",
                    f"{found['following_s']:.0f} s",
                    f"{found['gpu_s'] / 60:.0f} min",
                ]
            )

    price_rows = []
    for instance in INSTANCES:
        price = DEFAULT_PRICES_PER_HOUR[instance]
        cold = start_up_s(ranged=True) - IMPORTS_S  # billed from provisioning's end, roughly
        price_rows.append(
            [
                instance,
                f"${price:.3f}",
                f"${price * WINDOW_S / 3600:.3f}",
                f"${price * cold / 3600:.3f} ({cold:.0f} s)",
            ]
        )

    text = "\n\n".join(
        [
            "## Warm renders (a job takes the next renders with the model loaded)",
            "_`bench/warm.py`. Local figures are MEASURED on this CPU with the tiny pipeline "
            f"(a burst of {burst_n} renders launched at once; then {sequence_n} renders "
            "launched one after another). SageMaker figures are SIMULATED: the bot's own dispatch rule "
            "(`HostBeat.can_take`, the idle window, the budget) run over the assumed times below; no AWS "
            "is reachable here._",
            "### Local runner (measured)",
            table(
                [
                    "runner",
                    f"processes per {burst_n} renders",
                    f"model loads per {burst_n}",
                    "Generate → 1st step, first",
                    "Generate → 1st step, following (median)",
                ],
                local_rows,
                "lrrrr",
            ),
            f"The warm worker's following renders reach their first denoising step in "
            f"{warm_following:.2f} s against {cold_following:.2f} s for a process per render "
            f"({cold_following / max(warm_following, 1e-9):.1f}× sooner): no interpreter, torch import "
            "or pipeline load between renders.",
            "### SageMaker (simulated)",
            "Assumed: provisioning and image pull "
            f"{PROVISION_S:.0f} s; {WEIGHTS_GB:.0f} GB of weights copied in File mode at "
            f"{FILE_MODE_GBPS * 1000:.0f} MB/s before the container starts, or read by the job with "
            f"parallel ranged GETs at {RANGED_GBPS:.1f} GB/s while it imports ({IMPORTS_S:.0f} s); load "
            f"onto the GPU {LOAD_S:.0f} s; a render {RENDER_S:.0f} s; idle window {WINDOW_S:.0f} s; a "
            f"render waits at most {WAIT_S:.0f} s for a warm job. Start-up to the first step: "
            f"{start_up_s(ranged=False):.0f} s in File mode, {start_up_s(ranged=True):.0f} s with ranged "
            "reads. GPU time counts each job from launch to exit (a warm job's idle window included).",
            table(
                [
                    "10 renders",
                    "jobs",
                    "launches",
                    "model loads",
                    "Generate → 1st step, first",
                    "following (median)",
                    "GPU time",
                ],
                sim_rows,
                "llrrrrr",
            ),
            "A burst that arrives faster than a job can start still launches a job per render (no job "
            "is warm yet, and none can take it within the wait); from the second minute on, renders go "
            "to the warm jobs. Jobs that are still starting are not counted on (they have no heartbeat "
            "until their first render ends).",
            "### Idle cost",
            table(
                [
                    "instance",
                    "per hour of window",
                    f"per {WINDOW_S:.0f} s window (each job's exit)",
                    "a cold start it saves (launch → 1st step, ranged)",
                ],
                price_rows,
                "lrrr",
            ),
            "A window pays for itself when the next render comes within it: the idle minutes cost about "
            "what one cold start costs, and the person waits seconds instead of minutes.",
        ]
    )
    minute_apart = figures["sagemaker"]["10, one a minute / warm jobs, ranged reads"]["following_s"]
    headline = (
        "**Warm renders**: a local render after the first reaches its first step in "
        f"{warm_following:.2f} s vs "
        f"{cold_following:.2f} s (measured, tiny model); on SageMaker (simulated) renders a minute "
        f"apart start in {minute_apart:.0f} s "
        f"instead of {start_up_s(ranged=False):.0f} s"
    )
    return Section("warm", text, figures=figures, headline=headline)


if __name__ == "__main__":
    section_main(run)
