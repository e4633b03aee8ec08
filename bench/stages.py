"""Stage benchmarks: smooth, upscale and join against the plain tool call doing the same work.

    .venv/bin/python -m bench.stages [--quick]     (prints the Markdown section; `make bench` collects it)

At the real models' output sizes (CogVideoX 1.0: 49 frames 720×480 at 8 fps; 1.5: 81 frames
1360×768 at 16 fps), on the CPU, each stage is timed against what a person would type to do the
same thing: a bare ffmpeg command line with the same filter (`minterpolate`, `scale` with Lanczos,
`concat`, `xfade`), and for Real-ESRGAN a bare spandrel call on whole frames. The runs compared take
turns in one process; each figure is the fastest run.

Real-ESRGAN on a CPU takes seconds a frame even for a tiny random-weight RRDBNet (8 filters, one
block), so that row upscales a few frames and EXTRAPOLATES to the clip's length: labelled as such.

Memory: a 10-second 1080p clip upscaled ×2 through the streamed, tiled path, in a fresh interpreter,
against a 1-second one: the peak resident set (the kernel's high-water mark) stays the same, since
only one frame is ever held; what holding every frame at ×2 would take is printed beside it. The
model there is a tiny Real-ESRGAN Compact (SRVGGNetCompact, the architecture of Real-ESRGAN's video
models), so the run takes seconds, not an hour; memory per frame doesn't depend on the model's depth.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.section import Say, Section, section_main
from bench.stats import mib, table

REPO = Path(__file__).resolve().parent.parent
# (label, frames, width, height, fps)
SIZES = (
    ("1.0: 49 × 720×480, 8 fps", 49, 720, 480, 8),
    ("1.5: 81 × 1360×768, 16 fps", 81, 1360, 768, 16),
)
ESRGAN_FRAMES = 1  # frames upscaled by the tiny RRDBNet per size, then extrapolated
MEMORY_SECONDS, MEMORY_FPS = 10, 2  # the memory run: 10 s of 1080p at 2 fps (20 frames)

MEMORY_CHILD = """
import json, resource, sys
from pathlib import Path
from tests.processing_job.spandrel_import import import_spandrel
import_spandrel()
from processing_job.stages.upscale import upscale

def rss(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0

src, dst, weights = sys.argv[1:4]
before = rss("VmRSS")
report = upscale(Path(src), Path(dst), factor=2, weights=Path(weights))
print(json.dumps({
    "before": before,
    "peak": rss("VmHWM"),
    "children_peak": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024,
    "method": report.params["method"],
    "frames": report.params["frames"],
}))
"""


def section(say: Say, *, quick: bool = False, **_: object) -> Section:
    """The stages section; `quick` measures the 720×480 size only, once, and a short memory run."""
    import torch

    sizes = SIZES[:1] if quick else SIZES
    rounds = 1  # one run each, stage then bare: a full set takes ~17 minutes on 2 shared cores
    with tempfile.TemporaryDirectory(prefix="videobot-stages-") as scratch:
        work = Path(scratch)
        rows, figures = [], {}
        for label, frames, width, height, fps in sizes:
            say(f"stages bench: {label}")
            src = _clip(work / f"src-{height}.mp4", frames, width, height, fps)
            size_rows, size_figures = _size(src, work, label, fps, rounds=rounds, big=height > 700, say=say)
            rows += size_rows
            figures[label] = size_figures
        say("stages bench: memory of a streamed 1080p ×2 upscale")
        memory_md, memory = _memory(work, quick=quick)
        figures["memory"] = memory
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    text = "\n".join(
        [
            "## Stages (smooth, upscale, join)",
            f"CPU only ({cores} cores, torch {torch.__version__} with {torch.get_num_threads()} threads); "
            "the source clips are ffmpeg's `testsrc2` pattern with film grain, H.264 as the job writes "
            f"them. One run of each, stage then bare (a full set takes ~17 minutes on 2 shared cores), so "
            "single ratios carry the shared machine's noise: the ffmpeg stages add two short reads of the "
            "file's header to the same filter and encode, so a ratio far from 1 is noise"
            + (" (quick run: 720×480 only)" if quick else "")
            + ". Stage = our call (checks the input, then the library call, H.264 CRF 18 faststart "
            "output); bare = the same filter typed as one ffmpeg command line with the same encoder "
            "options, or for Real-ESRGAN spandrel's model called on whole frames.",
            "",
            table(
                ["size", "stage", "stage (s)", "bare (s)", "stage ÷ bare", "frames out: stage / bare"],
                rows,
                "llrrrr",
            ),
            "",
            f"- Real-ESRGAN rows: a tiny random-weight RRDBNet (8 filters, 1 block) on {ESRGAN_FRAMES} "
            "frame(s), **extrapolated** to the clip's frame count (per-frame time × frames); the real "
            "x4plus model (64 filters, 23 blocks) is ~60× the work per pixel and needs a GPU.",
            "",
            memory_md,
        ]
    )
    small = figures[SIZES[0][0]]
    headline = (
        f"**Stages** (CPU, 720×480): smooth ×2 {small['smooth']['ratio']:.2f}× a bare `minterpolate`, "
        f"Lanczos ×2 {small['lanczos']['ratio']:.2f}× a bare `scale`, crossfade join "
        f"{small['crossfade']['ratio']:.2f}× a bare `xfade`"
        + (
            f"; a streamed 1080p ×2 upscale peaks at {mib(memory['long']['peak'])} MiB for "
            f"{memory['long']['frames']} frames vs {mib(memory['short']['peak'])} MiB for "
            f"{memory['short']['frames']}."
            if memory
            else " (Real-ESRGAN rows and memory skipped: spandrel can't be imported here)."
        )
    )
    return Section("stages", text, figures=figures, headline=headline)


# --- per size ------------------------------------------------------------------------------------


def _size(
    src: Path, work: Path, label: str, fps: int, *, rounds: int, big: bool, say: Say
) -> tuple[list[list[str]], dict[str, Any]]:
    from processing_job.export import h264_output_args, probe_video
    from processing_job.stages.join import join
    from processing_job.stages.smooth import MINTERPOLATE, smooth
    from processing_job.stages.upscale import upscale

    out, bare_out = work / "out.mp4", work / "bare.mp4"
    h264 = h264_output_args()
    rows, figures = [], {}

    def row(name: str, stage: Callable[[], object], bare: list[str]) -> None:
        if big and name == "join (cut)":
            return  # the crossfade row shows the same encoding work; saves minutes on 2 cores
        say(f"stages bench:   {name}")
        ours, theirs = _alternate(stage, lambda: _ffmpeg(bare), rounds=rounds)
        frames, bare_frames = probe_video(out).frames, probe_video(bare_out).frames
        figures[name] = {
            "stage_s": ours,
            "bare_s": theirs,
            "ratio": ours / theirs,
            "frames": frames,
            "bare_frames": bare_frames,
        }
        rows.append(
            [
                label,
                name,
                f"{ours:.2f}",
                f"{theirs:.2f}",
                f"{ours / theirs:.2f}×",
                f"{frames} / {bare_frames}",
            ]
        )

    row(
        "smooth",
        lambda: smooth(src, out, factor=2),
        ["-i", str(src), "-vf", f"minterpolate=fps={fps * 2}:{MINTERPOLATE}", "-an", *h264, str(bare_out)],
    )
    row(
        "lanczos",
        lambda: upscale(src, out, factor=2, weights=None),
        ["-i", str(src), "-vf", "scale=iw*2:ih*2:flags=lanczos", "-an", *h264, str(bare_out)],
    )
    clips = [src, src, src]
    inputs = [arg for clip in clips for arg in ("-i", str(clip))]
    row(
        "join (cut)",
        lambda: join(clips, out),
        [
            *inputs,
            "-filter_complex",
            "[0:v][1:v][2:v]concat=n=3:v=1:a=0[v]",
            "-map",
            "[v]",
            *h264,
            str(bare_out),
        ],
    )
    frames = probe_video(src).frames
    first, second = (frames - fps // 2) / fps, (2 * frames - 2 * (fps // 2)) / fps
    xfade = (
        f"[0:v][1:v]xfade=transition=fade:duration=0.5:offset={first}[x];"
        f"[x][2:v]xfade=transition=fade:duration=0.5:offset={second}[v]"
    )
    row(
        "crossfade",
        lambda: join(clips, out, crossfade_s=0.5),
        [*inputs, "-filter_complex", xfade, "-map", "[v]", *h264, str(bare_out)],
    )
    esrgan = _esrgan_row(src, work, label, frames, fps, say)
    if esrgan:
        rows.append(esrgan[0])
        figures["esrgan"] = esrgan[1]
    return rows, figures


def _esrgan_row(
    src: Path, work: Path, label: str, frames: int, fps: int, say: Say
) -> tuple[list[str], dict[str, Any]] | None:
    import pytest

    from processing_job.stages.upscale import upscale

    try:
        weights = _tiny_model(work, "ESRGAN")
    except pytest.skip.Exception as skipped:
        say(f"stages bench:   Real-ESRGAN skipped: {skipped}")
        return None
    say(f"stages bench:   Real-ESRGAN (tiny RRDBNet), {ESRGAN_FRAMES} frame(s)")
    _warm_up(weights)
    few = work / "few.mp4"
    _ffmpeg(["-i", str(src), "-frames:v", str(ESRGAN_FRAMES), "-c", "copy", str(few)])
    ours, theirs = _alternate(
        lambda: upscale(few, work / "out.mp4", factor=2, weights=weights),
        lambda: _bare_spandrel(few, work / "bare.mp4", weights, fps),
        rounds=1,
    )
    per_frame_ours, per_frame_theirs = ours / ESRGAN_FRAMES, theirs / ESRGAN_FRAMES
    figures = {
        "per_frame_stage_s": per_frame_ours,
        "per_frame_bare_s": per_frame_theirs,
        "ratio": ours / theirs,
        "extrapolated_clip_s": per_frame_ours * frames,
    }
    return (
        [
            label,
            f"Real-ESRGAN ×2, tiny (EXTRAPOLATED from {ESRGAN_FRAMES} frame)",
            f"{per_frame_ours * frames:.0f}",
            f"{per_frame_theirs * frames:.0f}",
            f"{ours / theirs:.2f}×",
            str(frames),
        ],
        figures,
    )


def _warm_up(weights: Path) -> None:
    """One small call first, so neither side pays for torch's first convolution (oneDNN's set-up)."""
    import spandrel
    import torch

    model = spandrel.ModelLoader().load_from_file(weights).eval()
    with torch.inference_mode():
        model(torch.rand(1, 3, 64, 64))


def _bare_spandrel(src: Path, dst: Path, weights: Path, fps: int) -> None:
    """What the spandrel README shows, on each whole frame, written with imageio-ffmpeg."""
    import imageio_ffmpeg
    import numpy as np
    import spandrel
    import torch

    model = spandrel.ModelLoader().load_from_file(weights).eval()
    reader = imageio_ffmpeg.read_frames(str(src))
    meta = reader.__next__()
    width, height = meta["size"]
    writer = None
    for chunk in reader:
        frame = np.frombuffer(chunk, dtype=np.uint8).reshape(height, width, 3)
        with torch.inference_mode():
            image = model(torch.from_numpy(frame.copy()).permute(2, 0, 1)[None].float() / 255)
        pixels = (image[0].clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
        if writer is None:
            writer = imageio_ffmpeg.write_frames(
                str(dst),
                (pixels.shape[1], pixels.shape[0]),
                fps=fps,
                codec="libx264",
                quality=None,
                output_params=["-crf", "18", "-preset", "medium", "-movflags", "+faststart"],
            )
            writer.send(None)
        writer.send(np.ascontiguousarray(pixels))
    if writer is not None:
        writer.close()


# --- memory --------------------------------------------------------------------------------------


def _memory(work: Path, *, quick: bool) -> tuple[str, dict[str, Any]]:
    import pytest

    try:
        weights = _tiny_model(work, "Compact")
    except pytest.skip.Exception as skipped:
        return f"### Memory\n\nSkipped: {skipped}.", {}
    seconds = 2 if quick else MEMORY_SECONDS
    runs = {}
    for name, length in (("short", 1), ("long", seconds)):
        clip = _clip(work / f"hd-{length}.mp4", length * MEMORY_FPS, 1920, 1080, MEMORY_FPS)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
        done = subprocess.run(
            [sys.executable, "-c", MEMORY_CHILD, str(clip), str(work / "hd-out.mp4"), str(weights)],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=1800,
            check=True,
        )
        runs[name] = json.loads(done.stdout.strip().splitlines()[-1])
    all_frames = runs["long"]["frames"] * 3840 * 2160 * 3
    rows = [
        [
            f"{run['frames'] / MEMORY_FPS:.0f} s ({run['frames']} frames)",
            mib(run["before"]),
            mib(run["peak"]),
            mib(run["peak"] - run["before"]),
            mib(run["children_peak"]),
        ]
        for run in runs.values()
    ]
    text = "\n".join(
        [
            "### Memory of a streamed 1080p ×2 upscale",
            f"1920×1080 at {MEMORY_FPS} fps to 3840×2160, Real-ESRGAN through spandrel (a tiny "
            "random-weight Compact model), 256-px tiles, each run in a fresh interpreter: resident set "
            "before the stage (torch and spandrel imported), its peak, and the largest ffmpeg child's peak "
            "(x264 at 4K keeps its own lookahead frames, bounded by its settings, not by the clip)."
            + (" Quick run: 2 s instead of 10." if quick else ""),
            "",
            table(
                ["clip", "before (MiB)", "peak (MiB)", "stage's growth (MiB)", "largest ffmpeg (MiB)"],
                rows,
                "lrrrr",
            ),
            "",
            f"Holding the {runs['long']['frames']} frames at ×2 (uint8) would take "
            f"{mib(all_frames)} MiB; at the 1.5 model's 16 fps a 10 s clip is 160 frames, "
            f"{mib(160 * 3840 * 2160 * 3)} MiB. The streamed stage's peak doesn't grow with the clip.",
        ]
    )
    return text, {**runs, "all_frames_bytes": all_frames}


# --- helpers -------------------------------------------------------------------------------------


def _tiny_model(work: Path, architecture: str) -> Path:
    """A tiny random-weight Real-ESRGAN-family model saved as .safetensors (pytest.skip.Exception
    when spandrel can't be imported)."""
    import torch
    from safetensors.torch import save_file

    from tests.processing_job.spandrel_import import import_spandrel

    import_spandrel()
    torch.manual_seed(0)
    if architecture == "ESRGAN":
        from spandrel.architectures.ESRGAN import ESRGAN

        model = ESRGAN(in_nc=3, out_nc=3, num_filters=8, num_blocks=1, scale=2)
    else:
        from spandrel.architectures.Compact import Compact

        model = Compact(num_in_ch=3, num_out_ch=3, num_feat=8, num_conv=2, upscale=2)
    path = work / f"tiny-{architecture}.safetensors"
    save_file(model.state_dict(), str(path))
    return path


def _clip(path: Path, frames: int, width: int, height: int, fps: int) -> Path:
    from processing_job.export import h264_output_args

    _ffmpeg(
        [
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=size={width}x{height}:rate={fps},noise=alls=8:allf=t",
            "-frames:v",
            str(frames),
            *h264_output_args(),
            str(path),
        ]
    )
    return path


def _ffmpeg(args: list[str]) -> None:
    from processing_job.export import ffmpeg_exe

    subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-loglevel", "error", *args],
        check=True,
        capture_output=True,
        timeout=1800,
    )


def _alternate(
    ours: Callable[[], object], theirs: Callable[[], object], *, rounds: int, warm: bool = False
) -> tuple[float, float]:
    """The fastest of `rounds` runs of each, taking turns (after a warm-up round when `warm`)."""
    if warm and rounds > 1:
        ours()
        theirs()
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(rounds):
        for fn, out in ((ours, times[0]), (theirs, times[1])):
            started = time.perf_counter()
            fn()
            out.append(time.perf_counter() - started)
    return min(times[0]), min(times[1])


if __name__ == "__main__":
    section_main(section)
