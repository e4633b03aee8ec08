"""Render benchmarks: what the generation job costs beyond diffusers itself, and what a video costs.

    .venv/bin/python -m bench.render            (prints the Markdown section; `make bench` collects it)

Measured here, in one process, on whatever machine runs it (named in the output):

1. the job's overhead around a bare diffusers call, on the tiny model the demo renders: the same
   pipeline, spec and seed through `pipe(...)` + diffusers' video writer, and through the job's
   `run_job` (load, phased render, H.264 faststart mp4, poster, probe, result.json);
2. export speed: our faststart H.264 writer against the writer diffusers' `export_to_video` uses
   (imageio-ffmpeg), at the real models' output sizes;
3. the draft caches on the tiny models (CPU: this only shows that each runs and what it saves in the
   loop of a toy transformer; the choice for real GPUs leans on the published CogVideoX figures).

Predicted, not measured: seconds and dollars per video per GPU instance for the real models, from
the FLOP count of one denoising step (the arithmetic is printed) and the efficiency the published
diffusers timings imply. Clearly labelled as a prediction; replace it with measurements on a GPU.
"""

from __future__ import annotations

import os
import platform
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bench.section import Section, section_main

if TYPE_CHECKING:
    import numpy as np

REPEATS = 3
PROMPT = "a corgi surfing a wave at sunset, golden hour light, cinematic"


def run(report: Callable[[str], None] | None = None) -> str:
    """The benchmark section as Markdown; `report` hears progress lines while it runs."""
    from processing_job.tiny import ensure_tiny_models

    say = report or (lambda line: None)
    with tempfile.TemporaryDirectory(prefix="videobot-bench-") as scratch:
        work = Path(scratch)
        say("render bench: building the tiny models")
        cache = ensure_tiny_models(work / "models")
        parts = [
            "## Render (processing_job)",
            _machine(),
            _overhead(cache, work, say),
            _export(work, say),
            _caches(cache, say),
            _prediction(),
        ]
    return "\n\n".join(parts) + "\n"


# --- the machine ---------------------------------------------------------------------------------


def _machine() -> str:
    import diffusers
    import torch

    from processing_job.inference import device_name

    device = "cuda" if torch.cuda.is_available() else "cpu"
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (
        f"Measured on **{device_name(device)}** ({device}, {cores} cores, torch {torch.__version__} "
        f"with {torch.get_num_threads()} threads, diffusers {diffusers.__version__}, "
        f"Python {platform.python_version()}). Each figure is the fastest of {REPEATS} runs after a "
        "warm-up, the runs compared taking turns in one process (the least disturbed run on a shared "
        "machine)."
    )


# --- 1. the job around a bare diffusers call --------------------------------------------------------


def _overhead(cache: Path, work: Path, say: Callable[[str], None]) -> str:
    import diffusers
    import torch

    from processing_job.generate import quiet_library_progress_bars
    from processing_job.inference import run_job
    from processing_job.models import resolve_model
    from processing_job.paths import JobPaths
    from processing_job.progress import NullSink
    from processing_job.spec import JobSpec

    quiet_library_progress_bars()
    info = resolve_model("tiny")
    spec = JobSpec.create(job_id="bench", model="tiny", prompt=PROMPT, seed=7)  # the demo's render
    folder = str(cache / "tiny")

    def bare() -> dict[str, float]:
        started = time.perf_counter()
        pipe = diffusers.CogVideoXPipeline.from_pretrained(folder, dtype=torch.float32)
        pipe.set_progress_bar_config(disable=True)
        loaded = time.perf_counter()
        frames = pipe(
            prompt=spec.prompt,
            height=spec.height,
            width=spec.width,
            num_frames=spec.num_frames,
            num_inference_steps=spec.num_inference_steps,
            guidance_scale=spec.guidance_scale,
            use_dynamic_cfg=info.use_dynamic_cfg,
            generator=torch.Generator("cpu").manual_seed(spec.seed),
            output_type="np",
        ).frames[0]
        called = time.perf_counter()
        export_like_diffusers(frames, work / "bare.mp4", fps=spec.fps)
        done = time.perf_counter()
        return {
            "load": loaded - started,
            "call": called - loaded,
            "export": done - called,
            "total": done - started,
        }

    def job() -> dict[str, float]:
        paths = JobPaths.in_folder(work / "job")
        paths.input_dir.mkdir(parents=True, exist_ok=True)
        return run_job(spec, paths, NullSink())["timings_s"]

    say("render bench: bare diffusers call vs the job (tiny model)")
    previous = os.environ.get("VIDEOBOT_MODEL_CACHE")
    os.environ["VIDEOBOT_MODEL_CACHE"] = str(cache)  # the job finds the tiny model where we built it
    try:
        bares, jobs = _alternate(bare, job)
    finally:
        if previous is None:
            os.environ.pop("VIDEOBOT_MODEL_CACHE", None)
        else:
            os.environ["VIDEOBOT_MODEL_CACHE"] = previous
    b = {k: min(r[k] for r in bares) for k in bares[0]}
    j = {k: min(r[k] for r in jobs) for k in jobs[0]}
    render = min(r["encoding"] + r["denoising"] + r["decoding"] for r in jobs)
    outside_loop = j["total"] - j["denoising"]
    rows = [
        ("load (`from_pretrained`)", b["load"], j["loading"]),
        ("render (encode + denoise + decode)", b["call"], render),
        ("  of which the denoising loop", None, j["denoising"]),
        (
            "export (bare: diffusers' writer; job: mp4 + poster + probe + result.json)",
            b["export"],
            j["writing"],
        ),
        ("**total**", b["total"], j["total"]),
    ]
    table = ["| phase | bare diffusers (s) | job (s) | job ÷ bare |", "| --- | ---: | ---: | ---: |"]
    for label, bare_s, job_s in rows:
        ratio = f"{job_s / bare_s:.2f}" if bare_s else ""
        table.append(f"| {label} | {_s(bare_s)} | {_s(job_s)} | {ratio} |")
    return "\n".join(
        [
            "### The job's overhead around a bare diffusers call",
            f"The demo's render: {info.name}, {spec.num_frames} frames at {spec.width}×{spec.height}, "
            f"{spec.num_inference_steps} steps, float32 on the CPU.",
            "",
            *table,
            "",
            f"- The phased render costs **{render / b['call']:.2f}×** the single `pipe(...)` call "
            "(encode, denoise and decode run as three documented calls so each is timed and reported).",
            f"- Everything outside the denoising loop is **{outside_loop / j['total']:.0%}** of this toy "
            f"render ({outside_loop:.2f} s of {j['total']:.2f} s): the tiny transformer makes the loop "
            "almost free, and the VAE decode and export dominate. Against the bare path the job adds "
            f"**{j['total'] - b['total']:+.2f} s**: load {j['loading'] - b['load']:+.2f} s, render "
            f"{render - b['call']:+.2f} s, export {j['writing'] - b['export']:+.2f} s (H.264 at CRF 18 with "
            "faststart, a poster, and a probe that decodes the file to count its frames).",
            "- On a real model the loop takes 40–550 s on an H100 (see the prediction below), so these "
            "fixed costs fall to a few percent.",
        ]
    )


# --- 2. export -----------------------------------------------------------------------------------


def _export(work: Path, say: Callable[[str], None]) -> str:
    sizes = [
        ("CogVideoX 1.0 (49 frames, 720×480)", 49, 480, 720),
        ("CogVideoX 1.5 (81 frames, 1360×768)", 81, 768, 1360),
    ]
    table = [
        "| video | ours: H.264 faststart (s) | frames/s | diffusers' writer (s) | ours ÷ diffusers "
        "| size (MB) | faststart: ours / diffusers |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for label, count, height, width in sizes:
        say(f"render bench: export {label}")
        table.append(_export_row(label, _moving_picture(count, height, width), work))
    return "\n".join(
        [
            "### Export",
            "Frames are a moving gradient with film grain (x264 can't cheat on noise-free pictures). "
            "Ours pipes raw RGB to the ffmpeg that imageio-ffmpeg ships (libx264, CRF 18, yuv420p, "
            "`+faststart` so Slack starts playing before the download ends); diffusers' writer goes through "
            "imageio frame by frame and leaves the index at the end.",
            "",
            *table,
        ]
    )


def export_like_diffusers(frames: np.ndarray, path: Path, fps: int) -> None:
    """What diffusers' `export_to_video` does with imageio installed: frames to uint8, then
    imageio-ffmpeg's libx264 writer at imageio's default quality 5, one frame at a time. (Called
    directly: the project doesn't install imageio itself, and without it diffusers falls back to
    OpenCV's mp4v, which browsers and Slack won't play.)"""
    import imageio_ffmpeg
    import numpy as np

    height, width = frames.shape[1:3]
    writer = imageio_ffmpeg.write_frames(
        str(path), (width, height), fps=fps, codec="libx264", quality=5, macro_block_size=16
    )
    writer.send(None)
    for frame in frames:
        writer.send(np.ascontiguousarray((frame * 255).round().astype(np.uint8)))
    writer.close()


def _export_row(label: str, frames: np.ndarray, work: Path) -> str:
    from processing_job.export import probe_video, write_mp4

    ours_path, theirs_path = work / "ours.mp4", work / "theirs.mp4"
    ours_runs, theirs_runs = _alternate(
        lambda: _timed(lambda: write_mp4(frames, ours_path, fps=8)),
        lambda: _timed(lambda: export_like_diffusers(frames, theirs_path, fps=8)),
    )
    ours, theirs = min(ours_runs), min(theirs_runs)
    mine, other = probe_video(ours_path), probe_video(theirs_path)
    return (
        f"| {label} | {ours:.2f} | {len(frames) / ours:.0f} | {theirs:.2f} | {ours / theirs:.2f} | "
        f"{mine.size_bytes / 1e6:.1f} | {mine.faststart} / {other.faststart} |"
    )


def _moving_picture(count: int, height: int, width: int) -> np.ndarray:
    import numpy as np

    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    frames = np.empty((count, height, width, 3), dtype=np.float32)
    for t in range(count):
        frames[t, ..., 0] = (x + 6 * t) % width / width
        frames[t, ..., 1] = y / height
        frames[t, ..., 2] = 0.5 + 0.3 * np.sin((x + y + 4 * t) / 40)
    frames += rng.normal(0, 0.02, frames.shape).astype(np.float32)
    return np.clip(frames, 0, 1)


# --- 3. the draft caches --------------------------------------------------------------------------


def _caches(cache: Path, say: Callable[[str], None]) -> str:
    import numpy as np

    from processing_job.acceleration import CACHES, DEFAULT_DRAFT_CACHE, AccelerationOptions
    from processing_job.generate import load_pipeline, render
    from processing_job.models import resolve_model
    from processing_job.spec import JobSpec
    from processing_job.weights import resolve_weights

    rows = []
    for key in ("tiny", "tiny-1.5"):
        say(f"render bench: draft caches on {key}")
        info = resolve_model(key)
        loaded = load_pipeline(info, resolve_weights(info, Path("/nonexistent"), cache), device="cpu")
        spec = JobSpec.create(
            job_id="bench", model=key, prompt=PROMPT, seed=3, num_inference_steps=20, quality="draft"
        )
        names = (None, *CACHES)
        renders = _alternate(
            *(
                lambda loaded=loaded, spec=spec, name=name: render(
                    loaded, spec, acceleration=AccelerationOptions(cache=name)
                )
                for name in names
            )
        )
        runs = {
            name: (min(r.timings["denoising"] for r in results), results[-1].frames)
            for name, results in zip(names, renders, strict=True)
        }
        base_loop, base_frames = runs[None]
        for name in CACHES:
            loop, frames = runs[name]
            change = float(np.abs(frames - base_frames).mean())
            rows.append(f"| {key} | {name} | {loop:.3f} | {base_loop / loop:.2f}× | {change:.5f} |")
        rows.append(f"| {key} | (none) | {base_loop:.3f} | 1.00× | 0 |")
    return "\n".join(
        [
            "### Draft caches (tiny models, CPU, 20 steps)",
            "Each diffusers cache on the same draft render; the change is the mean absolute difference "
            "of the frames (0–1) from the uncached render. **On a CPU with random two-layer transformers "
            "this only shows that every cache runs and how much of a toy loop it skips**: it says nothing "
            "about picture quality, and real speed-ups depend on the real model's depth and the GPU.",
            "",
            "| model | cache | loop (s) | speed-up | change |",
            "| --- | --- | ---: | ---: | ---: |",
            *rows,
            "",
            f"The job's draft cache is **{DEFAULT_DRAFT_CACHE}**, chosen on the published CogVideoX "
            "figures (FasterCache 1.55×, PAB 1.34×; facts.md): a toy loop can't rank caches for a "
            "42-layer model. It is also the only one that skips the unconditional half of guided steps, "
            "which is half of every step's work. Measure again on a GPU before changing it.",
        ]
    )


# --- 4. the prediction ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Architecture:
    name: str
    layers: int
    hidden: int
    frames: int
    height: int
    width: int
    patch_t: int = 1

    @property
    def tokens(self) -> int:
        latent_frames = (self.frames - 1) // 4 + 1
        latent_frames += -latent_frames % self.patch_t
        return latent_frames // self.patch_t * (self.height // 16) * (self.width // 16) + 226

    @property
    def flop_per_step(self) -> float:
        """Forward FLOPs of one guided step: 2 passes (conditional + unconditional) of
        L × (2 · 12·d² · N  for the linear layers  +  4 · N² · d  for attention)."""
        linear = 2 * 12 * self.hidden**2 * self.tokens
        attention = 4 * self.tokens**2 * self.hidden
        return 2 * self.layers * (linear + attention)


ARCHITECTURES = (
    Architecture("CogVideoX-2B (49 × 720×480)", layers=30, hidden=1920, frames=49, height=480, width=720),
    Architecture(
        "CogVideoX-5B and 5B-I2V (49 × 720×480)", layers=42, hidden=3072, frames=49, height=480, width=720
    ),
    Architecture(
        "CogVideoX1.5-5B and I2V (81 × 1360×768)",
        layers=42,
        hidden=3072,
        frames=81,
        height=768,
        width=1360,
        patch_t=2,
    ),
)


@dataclass(frozen=True)
class Instance:
    name: str
    gpu: str
    memory_gb: int
    peak_tflops: float  # dense BF16 tensor-core peak, NVIDIA datasheets
    usd_per_hour: float  # per GPU
    checked: str  # where the price was checked, or "unverified"


# EC2 On-Demand, Linux, us-east-1, per GPU (p4d and p5 are sold as 8 GPUs: one GPU's share). No
# internet here: the p4d and p5 prices match a public price dataset (data-receipts, "109-gpu-pricing/
# hyperscalers.json", retrieved 2026-11-09; p4d.24xlarge $21.957642 after AWS's 2025 cut, not the older
# $32.773); the others are AWS's rate card as remembered, unverified. SageMaker's ml.* prices for the
# instances the stack uses are in the cost section (bench/prices.py).
INSTANCES = (
    Instance("g6.2xlarge", "L4", 24, 121, 0.978, "unverified"),
    Instance("g5.2xlarge", "A10G", 24, 125, 1.212, "unverified"),
    Instance("g6e.xlarge", "L40S", 48, 362, 1.861, "unverified"),
    Instance("p4d.24xlarge ÷ 8", "A100", 40, 312, 21.957642 / 8, "public price dataset, 2026-11-09"),
    Instance("p5.48xlarge ÷ 8", "H100", 80, 989, 55.04 / 8, "public price dataset, 2026-11-09"),
)
# Dense BF16 tensor-core peaks by the name `torch.cuda.get_device_name()` reports (NVIDIA datasheets;
# the H200 has the H100 SXM's compute), for bench/gpu.py's FLOP floor. More specific names first:
# "H100 PCIe" before "H100", "A100" before "A10", "L40S" before "L4".
GPU_PEAK_TFLOPS = (
    ("H100 PCIe", 756.0),
    ("H100 NVL", 835.0),
    ("H100", 989.0),
    ("H200", 989.0),
    ("A100", 312.0),
    ("L40S", 362.0),
    ("L4", 121.0),
    ("A10G", 125.0),
    ("A10", 125.0),
)


def gpu_peak_tflops(device_name: str) -> float | None:
    """The dense bf16 peak of the card called `device_name`, or None for a card not listed."""
    for name, peak in GPU_PEAK_TFLOPS:
        if name.lower() in device_name.lower():
            return peak
    return None


# The share of peak that published diffusers timings of CogVideoX-5B (50 steps) imply:
# H100 bf16 112 s → 50 × 6.64e14 / (112 s × 989e12) = 0.30; A100 bf16 243 s → 0.44.
EFFICIENCY = (0.30, 0.44)
STEPS, DRAFT_STEPS, DRAFT_CACHE_SPEEDUP = 50, 20, 1.55
PUBLISHED = {
    "CogVideoX-2B (49 × 720×480)": "A100 ~90 s, H100 ~45 s (CogVideo README)",
    "CogVideoX-5B and 5B-I2V (49 × 720×480)": "A100 ~180 s, H100 ~90 s (official); diffusers bf16 "
    "H100 112 s, A100 243 s; compiled fp8 H100 75 s (facts.md)",
    "CogVideoX1.5-5B and I2V (81 × 1360×768)": "A100 ~1000 s, H100 ~550 s (CogVideo README)",
}


def _prediction() -> str:
    arithmetic = []
    for arch in ARCHITECTURES:
        arithmetic.append(
            f"- {arch.name}: L={arch.layers}, d={arch.hidden}, N={arch.tokens:,} tokens → "
            f"2 × {arch.layers} × (2·12·{arch.hidden}²·N + 4·N²·{arch.hidden}) = "
            f"**{arch.flop_per_step:.2e} FLOP per step**; published: {PUBLISHED[arch.name]}."
        )
    header = (
        "| model | instance (GPU) | final, 50 steps (s) | $ per final video "
        "| draft, 20 steps + FasterCache (s) | $ per draft |"
    )
    table = [header, "| --- | --- | ---: | ---: | ---: | ---: |"]
    for arch in ARCHITECTURES:
        for inst in INSTANCES:
            low, high = (
                STEPS * arch.flop_per_step / (inst.peak_tflops * 1e12 * e) for e in reversed(EFFICIENCY)
            )
            draft = [s * DRAFT_STEPS / STEPS / DRAFT_CACHE_SPEEDUP for s in (low, high)]
            price = inst.usd_per_hour / 3600
            table.append(
                f"| {arch.name} | {inst.name} ({inst.gpu} {inst.memory_gb} GB) | {low:.0f}–{high:.0f} | "
                f"{low * price:.2f}–{high * price:.2f} | {draft[0]:.0f}–{draft[1]:.0f} | "
                f"{draft[0] * price:.3f}–{draft[1] * price:.3f} |"
            )
    return "\n".join(
        [
            "### Predicted time and cost per video (a PREDICTION, not a measurement)",
            "No GPU was available for these benchmarks, so the real models' times are predicted from "
            "arithmetic. One denoising step of a CogVideoX transformer with L layers of width d over N "
            "tokens (video patches + 226 text tokens) costs about 2·12·d²·N FLOPs in its linear layers and "
            "4·N²·d in attention per layer, twice over for classifier-free guidance:",
            "",
            *arithmetic,
            "",
            "Time = steps × FLOP per step ÷ (peak × efficiency), with the efficiency between "
            f"{EFFICIENCY[0]:.0%} and {EFFICIENCY[1]:.0%} (what the published diffusers timings of "
            "CogVideoX-5B imply on H100 and A100; the 5B row reproduces them by construction, and the 2B "
            "and 1.5 rows land within 15% of their published H100 figures). The denoising loop only: "
            "loading staged weights, text encoding, VAE decoding and export add tens of seconds, and the "
            "instance's start and image pull are SageMaker's (the cost section allows for both). "
            "Peaks are NVIDIA's dense BF16 figures (A10G taken as the A10's 125 TFLOP/s). Prices: EC2 "
            "On-Demand Linux, us-east-1, per GPU (one GPU's share for the 8-GPU p4d and p5); "
            + "; ".join(f"{i.name} ${i.usd_per_hour:.3f}/h {i.checked}" for i in INSTANCES)
            + ". SageMaker processing costs more per hour: the cost section prices the instances the stack "
            "actually uses. 24 GB cards run 5B and 1.5 with model offload (the "
            "transformer stays on the GPU for the loop, so the loop time holds), 1.5 with VAE tiling too.",
            "",
            *table,
        ]
    )


# --- helpers -------------------------------------------------------------------------------------


def _alternate(*fns: Callable[[], object]) -> list[list]:
    """Each function's results over REPEATS rounds, the functions taking turns within a round, after
    a warm-up round (first calls pay for lazy initialisation: oneDNN, the page cache). Taking turns
    spreads a shared machine's noise over all of them; callers take the minimum, the run least
    disturbed by other work."""
    for fn in fns:
        fn()
    results: list[list] = [[] for _ in fns]
    for _ in range(REPEATS):
        for fn, out in zip(fns, results, strict=True):
            out.append(fn())
    return results


def _timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def _s(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds:.3f}"


def section(say: Callable[[str], None], *, quick: bool = False, **_: object) -> Section:
    """The render section for `python -m bench`; `quick` skips the measurements (minutes on a CPU) and
    keeps the prediction, which is arithmetic."""
    if quick:
        text = "\n\n".join(
            [
                "## Render (processing_job)",
                "_Measurements skipped in this run (`BENCH_QUICK=1`); the prediction below is arithmetic._",
                _prediction(),
            ]
        )
    else:
        text = run(say)
    fastest = min(
        (STEPS * arch.flop_per_step / (inst.peak_tflops * 1e12 * EFFICIENCY[1]), arch.name, inst.name)
        for arch in ARCHITECTURES[1:2]
        for inst in INSTANCES
    )
    headline = (
        f"**Render**: no GPU in this run; CogVideoX-5B's 50-step loop is predicted at {fastest[0]:.0f} s on "
        f"{fastest[2]} (the fastest card listed) from its FLOP count — a prediction, not a measurement."
    )
    return Section("render", text.rstrip("\n"), headline=headline)


if __name__ == "__main__":
    section_main(section)
