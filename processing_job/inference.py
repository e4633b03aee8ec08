"""The container's entry point: `python -m processing_job.inference` (or `main()` in-process).

Reads `input/spec.json` (and the picture, clip or clips it names from `input/`), runs its plan —
the render (generate or extend), a join, or nothing (mode `stages`: the staged clip as it is), then
smooth and upscale as asked — and writes
`output/video.mp4`, `poster.jpg` and `result.json` (see `paths.py`). Exit 0 means all three exist.
Any failure exits 1 and leaves one or two plain sentences in the failure file, which SageMaker hands
back as the job's ExitMessage and the bot shows to the person; the traceback goes to the log, never
to the person.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import shutil
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from processing_job.models import EXTEND, STAGES, V2V, ModelInfo
from processing_job.paths import JobPaths
from processing_job.progress import DONE, LOADING, WRITING, ProgressReporter, ProgressSink, sink_from_env
from processing_job.spec import JobSpec, SpecError

log = logging.getLogger(__name__)

RESULT_VERSION = 1
UPSCALER_WEIGHTS_ENV = "VIDEOBOT_UPSCALER_WEIGHTS"
MAX_FAILURE_BYTES = 1024  # SageMaker keeps the first 1 KB of the failure file
ELLIPSIS = "…"


class JobInputError(RuntimeError):
    """The job's inputs are missing or unreadable; the message is a sentence for the person."""


def main(
    paths: JobPaths | None = None, sink: ProgressSink | None = None, *, own_process: bool = False
) -> int:
    """Run one job from its folders; 0 on success, 1 after writing the failure file.

    `own_process`: the job has the process to itself (the container, the CLI), so it may change
    process-wide settings such as the libraries' progress bars."""
    paths = paths or JobPaths.from_env()
    spec: JobSpec | None = None
    sink = sink if sink is not None else sink_from_env()
    try:
        spec = read_spec(paths)
        run_job(spec, paths, sink, quiet_libraries=own_process)
    except Exception as error:
        log.exception("Job %s failed", spec.job_id if spec else "(no valid spec)")
        write_failure(paths.failure_file, failure_message(error, spec))
        return 1
    finally:
        close_sink(sink)
    return 0


def close_sink(sink: ProgressSink) -> None:
    """Let a sink that sends in the background deliver what it holds (bounded; never raises)."""
    close = getattr(sink, "close", None)
    if close is None:
        return
    try:
        close()
    except Exception:
        log.exception("The progress sink failed to close; the job's outcome stands.")


def read_spec(paths: JobPaths) -> JobSpec:
    try:
        text = paths.spec_file.read_bytes()
    except FileNotFoundError:
        raise JobInputError(f"The job spec was not found: there is no {paths.spec_file}.") from None
    except OSError as error:
        raise JobInputError(f"The job spec could not be read ({error.strerror}).") from None
    return JobSpec.from_json(text)


def run_job(
    spec: JobSpec, paths: JobPaths, sink: ProgressSink, *, quiet_libraries: bool = False
) -> dict[str, Any]:
    """Run `spec`'s plan into `paths.output_dir`; returns what it wrote to result.json.

    1. the render (generate: t2v, i2v or v2v; or extend), or a join of the spec's clips, written
       as an mp4 (or, for a stages-only job, the staged clip itself);
    2. the optional stages, file to file: smooth (`interpolate`), then upscale;
    3. export: the last file becomes video.mp4 (H.264, yuv420p, faststart), with its poster and
       result.json, which lists every stage's parameters and time."""
    from processing_job.export import probe_video, write_poster_from_video

    started = time.perf_counter()
    reporter = ProgressReporter(sink, spec.job_id)
    paths.output_dir.mkdir(parents=True, exist_ok=True)
    paths.work_dir.mkdir(parents=True, exist_ok=True)
    try:
        # 1. Render, or join
        reporter.phase(LOADING)
        if spec.renders:
            made, result = _render(spec, paths, reporter, quiet_libraries=quiet_libraries)
        elif spec.mode == STAGES:
            reporter.phase(WRITING)
            made, result = _staged_clip(spec, paths)
        else:
            reporter.phase(WRITING)
            made, result = _join(spec, paths)

        # 2. Stages: smooth, then upscale
        stages_started = time.perf_counter()
        final, stage_reports = _run_stages(spec, made, paths)
        stages_s = time.perf_counter() - stages_started

        # 3. Export
        os.replace(final, paths.video_file)
        write_poster_from_video(paths.video_file, paths.poster_file)
        video = probe_video(paths.video_file)
    finally:
        shutil.rmtree(paths.work_dir, ignore_errors=True)

    timings = result.setdefault("timings_s", {})
    if stage_reports:
        timings["stages"] = round(stages_s, 3)
    timings["total"] = round(time.perf_counter() - started, 3)
    result["stages"] = [*result.pop("made_by", []), *stage_reports]
    result["video"] = {
        "file": paths.video_file.name,
        "poster": paths.poster_file.name,
        "frames": video.frames,
        "width": video.width,
        "height": video.height,
        "fps": video.fps,
        "duration_s": video.duration_s,
        "codec": video.codec,
        "pix_fmt": video.pix_fmt,
        "faststart": video.faststart,
        "size_bytes": video.size_bytes,
    }
    _write_json(paths.result_file, result)
    reporter.phase(DONE)
    log.info("Job %s done in %.1f s: %s", spec.job_id, timings["total"], paths.video_file)
    return result


def _render(
    spec: JobSpec, paths: JobPaths, reporter: ProgressReporter, *, quiet_libraries: bool
) -> tuple[Path, dict[str, Any]]:
    """Generate (t2v, i2v, v2v) or extend with the spec's model; the mp4 it wrote and the result."""
    from processing_job.acceleration import AccelerationOptions
    from processing_job.export import write_mp4
    from processing_job.families import family_for
    from processing_job.generate import load_pipeline, pick_device, quiet_library_progress_bars, render
    from processing_job.memory import plan_from_env
    from processing_job.weights import resolve_weights

    started = time.perf_counter()
    info = spec.model_info
    family = family_for(info)
    # Bad settings fail now, not after a minute of loading.
    acceleration = AccelerationOptions.for_quality(
        spec.quality, draft_cache=family.default_draft_cache, supported=family.caches
    )
    memory_plan = plan_from_env()

    # The inputs are checked before any weights load: a bad one fails in a second, not a minute.
    image, image_facts = _prepare_image(spec, paths)
    clip, clip_facts = _prepare_clip(spec, paths)
    weights = resolve_weights(info, paths.model_dir)
    log.info("Job %s: %s from %s", spec.job_id, info.name, weights.describe())
    if quiet_libraries:
        quiet_library_progress_bars()
    device = pick_device()
    _reset_gpu_peak(device)
    loaded = load_pipeline(
        info, weights, device=device, spec=spec, memory_plan=memory_plan, acceleration=acceleration
    )
    loading_s = time.perf_counter() - started

    rendered = render(
        loaded,
        spec,
        reporter,
        image=clip.last_frame if spec.mode == EXTEND else image,
        video=clip.frames if spec.mode == V2V else (),
        acceleration=acceleration,
    )

    reporter.phase(WRITING)
    writing_started = time.perf_counter()
    frames = rendered.frames
    if spec.mode == EXTEND:
        from processing_job.extend import joined

        frames = joined(clip.original, rendered.frames)
    made = paths.work_dir / "render.mp4"
    write_mp4(frames, made, spec.fps)
    writing_s = time.perf_counter() - writing_started

    timings = {"loading": loading_s, **rendered.timings, "writing": writing_s}
    needs = loaded.memory_needs
    made_by = {
        "name": spec.mode if spec.mode == EXTEND else "generate",
        "seconds": round(time.perf_counter() - started, 3),
        "params": {
            "mode": spec.mode,
            "model": info.key,
            "frames": len(frames),
            "rendered_frames": len(rendered.frames),
            "width": spec.width,
            "height": spec.height,
            "fps": spec.fps,
            "steps": spec.num_inference_steps,
            "strength": rendered.parameters.get("strength"),
            "seed": spec.seed,
        },
        "notes": clip_facts["notes"] if clip_facts else [],
    }
    result = {
        "result_version": RESULT_VERSION,
        "job_id": spec.job_id,
        "spec": spec.to_dict(),
        "seed": spec.seed,
        "model": _model_summary(info),
        "weights": {"source": weights.kind, "location": weights.location},
        "parameters": rendered.parameters,
        "timings_s": {name: round(seconds, 3) for name, seconds in timings.items()},
        "prompt_tokens": {
            "limit": loaded.max_sequence_length,
            "prompt": vars(rendered.prompt_tokens),
            "negative_prompt": vars(rendered.negative_prompt_tokens),
        },
        "image": image_facts,
        "input_video": clip_facts,
        "memory": {
            "peak_cpu_rss_bytes": peak_cpu_rss_bytes(),
            "peak_gpu_bytes": _gpu_peak(device),
            "plan": loaded.memory_plan.to_dict(),
            "plan_changes": rendered.plan_changes,
            "weights_bytes": needs.weights if needs else None,
        },
        "quality": spec.quality,
        "acceleration": {**loaded.acceleration.to_dict(), "cache": rendered.parameters["cache"]},
        "device": {"type": device, "name": device_name(device)},
        "versions": library_versions(),
        "warnings": rendered.warnings + (clip_facts["notes"] if clip_facts else []),
        "made_by": [made_by],
    }
    return made, result


def _join(spec: JobSpec, paths: JobPaths) -> tuple[Path, dict[str, Any]]:
    """The spec's clips joined into one cut (checked first, each of them)."""
    from processing_job.restyle import MAX_INPUT_BYTES, MAX_INPUT_PIXELS, MAX_INPUT_SECONDS
    from processing_job.stages.join import join
    from processing_job.video_input import VideoInputError, check_video

    clips = []
    for name in spec.clips:
        path = paths.input_file(name)
        if not path.is_file():
            raise JobInputError(f"The clip {name} was not found in the job's input folder.")
        try:
            check_video(
                path, max_seconds=MAX_INPUT_SECONDS, max_pixels=MAX_INPUT_PIXELS, max_bytes=MAX_INPUT_BYTES
            )
        except VideoInputError as error:
            raise VideoInputError(f"{name}: {error}") from None
        clips.append(path)
    made = paths.work_dir / "joined.mp4"
    report = join(clips, made, crossfade_s=spec.crossfade_s)
    result = {
        "result_version": RESULT_VERSION,
        "job_id": spec.job_id,
        "spec": spec.to_dict(),
        "timings_s": {"joining": round(report.seconds, 3)},
        "versions": library_versions(),
        "warnings": list(report.notes),
        "made_by": [_stage_dict(report)],
    }
    return made, result


def _staged_clip(spec: JobSpec, paths: JobPaths) -> tuple[Path, dict[str, Any]]:
    """A stages-only job's clip (an earlier render), checked as a stage's input; no model is loaded.
    The stages read it where it lies and write their own files."""
    from processing_job.stages._ffmpeg import checked

    assert spec.video is not None  # the spec's validation
    path = paths.input_file(spec.video)
    if not path.is_file():
        raise JobInputError(f"The video {spec.video} was not found in the job's input folder.")
    facts = checked(path)
    result = {
        "result_version": RESULT_VERSION,
        "job_id": spec.job_id,
        "spec": spec.to_dict(),
        "timings_s": {},
        "input_video": {
            "file": spec.video,
            "width": facts.width,
            "height": facts.height,
            "fps": facts.fps,
            "frame_count": facts.frame_count,
            "duration_s": facts.duration_s,
            "codec": facts.codec,
        },
        "versions": library_versions(),
        "warnings": [],
        "made_by": [],
    }
    return path, result


def _run_stages(spec: JobSpec, made: Path, paths: JobPaths) -> tuple[Path, list[dict[str, Any]]]:
    """Smooth, then upscale, as the spec asks: each reads the last file and writes the next."""
    reports: list[dict[str, Any]] = []
    current = made
    if spec.interpolate > 1:
        from processing_job.stages.smooth import smooth

        smoothed = paths.work_dir / "smoothed.mp4"
        reports.append(_stage_dict(smooth(current, smoothed, factor=spec.interpolate)))
        current = smoothed
    if spec.upscale > 1:
        from processing_job.stages.upscale import upscale

        upscaled = paths.work_dir / "upscaled.mp4"
        weights = upscaler_weights()
        reports.append(_stage_dict(upscale(current, upscaled, factor=spec.upscale, weights=weights)))
        current = upscaled
    return current, reports


def upscaler_weights(env: dict[str, str] | None = None) -> Path | None:
    """The upscaler's weights file, when `VIDEOBOT_UPSCALER_WEIGHTS` names one (else the stage's own
    choice)."""
    env = dict(os.environ) if env is None else env
    named = env.get(UPSCALER_WEIGHTS_ENV)
    return Path(named) if named else None


def _stage_dict(report: Any) -> dict[str, Any]:
    return {
        "name": report.name,
        "seconds": round(report.seconds, 3),
        "params": dict(report.params),
        "notes": list(report.notes),
    }


def _prepare_image(spec: JobSpec, paths: JobPaths) -> tuple[Any, dict[str, Any] | None]:
    """The spec's picture, checked and fitted to the video (None for text-to-video)."""
    if spec.image is None:
        return None, None
    from processing_job.images import prepare

    path = paths.image_file(spec.image)
    if not path.is_file():
        raise JobInputError(f"The image {spec.image} was not found in the job's input folder.")
    prepared = prepare(path, spec.height, spec.width)
    image, facts = prepared.image, prepared.facts
    upright_width, upright_height = facts.upright_size
    return image, {
        "file": spec.image,
        "format": facts.format,
        "width": facts.width,
        "height": facts.height,
        "orientation": facts.orientation,
        "upright_width": upright_width,
        "upright_height": upright_height,
        "had_transparency": facts.has_alpha,
        "size_bytes": facts.size_bytes,
        "fitted_width": image.width,
        "fitted_height": image.height,
    }


def _prepare_clip(spec: JobSpec, paths: JobPaths) -> tuple[Any, dict[str, Any] | None]:
    """The spec's input video, checked and read for a restyle or an extension (None otherwise)."""
    if spec.video is None:
        return None, None
    path = paths.input_file(spec.video)
    if not path.is_file():
        raise JobInputError(f"The video {spec.video} was not found in the job's input folder.")
    if spec.mode == EXTEND:
        from processing_job.extend import prepare

        clip = prepare(spec, path)
        used = {"frames": len(clip.original), "continues_from_frame": len(clip.original)}
    else:
        from processing_job.restyle import fit_clip

        clip = fit_clip(spec, path)
        used = {"frames": len(clip.frames)}
    facts = clip.facts
    return clip, {
        "file": spec.video,
        "width": facts.width,
        "height": facts.height,
        "fps": facts.fps,
        "frame_count": facts.frame_count,
        "duration_s": facts.duration_s,
        "codec": facts.codec,
        **used,
        "notes": list(clip.notes),
    }


def failure_message(error: BaseException, spec: JobSpec | None = None) -> str:
    """One or two sentences a person can act on; never a traceback."""
    from processing_job.acceleration import AccelerationSettingError
    from processing_job.generate import RenderError
    from processing_job.images import ImageError
    from processing_job.memory import MemoryPlanError, is_out_of_memory
    from processing_job.stages import StageError
    from processing_job.video_input import VideoInputError
    from processing_job.weights import WeightsError

    if isinstance(error, SpecError):
        return "The job spec is invalid: " + " ".join(error.problems)
    if isinstance(error, ImageError):
        return f"The picture can't be used: {error}"
    if isinstance(error, VideoInputError):
        return f"The video can't be used: {error}"
    if isinstance(error, StageError):
        return str(error)
    if isinstance(error, (MemoryPlanError, AccelerationSettingError)):
        return f"The job is misconfigured: {error}"
    if isinstance(error, (JobInputError, WeightsError, RenderError)):
        return str(error)
    if is_out_of_memory(error):
        what = (
            f" rendering {spec.num_frames} frames at {spec.width}×{spec.height} with {spec.model_info.name}"
            if spec
            else ""
        )
        return f"The GPU ran out of memory{what}. Try fewer frames, a smaller size or a smaller model."
    if isinstance(error, MemoryError):
        return "The job ran out of memory. Try fewer frames or a smaller size."
    return f"The render failed unexpectedly ({type(error).__name__}). The job's log has the details."


def truncate_utf8(text: str, limit: int = MAX_FAILURE_BYTES) -> str:
    """`text` cut to at most `limit` UTF-8 bytes on a character boundary, with … when cut."""
    encoded = text.encode("utf-8")
    if len(encoded) <= limit:
        return text
    room = limit - len(ELLIPSIS.encode("utf-8"))
    # Decoding drops the partial character a byte cut can leave at the end.
    return encoded[:room].decode("utf-8", errors="ignore") + ELLIPSIS


def write_failure(path: Path, message: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(truncate_utf8(message).encode("utf-8"))
    except OSError:
        log.exception("Could not write the failure message to %s: %s", path, message)


def peak_cpu_rss_bytes() -> int | None:
    try:
        import resource
    except ImportError:  # not on POSIX
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # Linux reports KiB


def device_name(device: str) -> str:
    if device == "cuda":
        import torch

        return torch.cuda.get_device_name()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def library_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for package in ("torch", "diffusers", "transformers", "accelerate", "imageio-ffmpeg", "numpy", "pillow"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    torch = sys.modules.get("torch")
    versions["cuda"] = torch.version.cuda if torch is not None else None
    return versions


def _model_summary(info: ModelInfo) -> dict[str, Any]:
    return {"key": info.key, "name": info.name, "hub_id": info.hub_id, "pipeline": info.pipeline}


def _reset_gpu_peak(device: str) -> None:
    if device == "cuda":
        import torch

        torch.cuda.reset_peak_memory_stats()


def _gpu_peak(device: str) -> int | None:
    if device != "cuda":
        return None
    import torch

    return int(torch.cuda.max_memory_allocated())


def _write_json(path: Path, data: dict[str, Any]) -> None:
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
    os.replace(partial, path)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    sys.exit(main(own_process=True))
