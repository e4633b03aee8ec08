"""The container's entry point: `python -m processing_job.inference` (or `main()` in-process).

Reads `input/spec.json`, renders it, and writes `output/video.mp4`, `poster.jpg` and `result.json`
(see `paths.py`). Exit 0 means all three exist. Any failure exits 1 and leaves one or two plain
sentences in the failure file, which SageMaker hands back as the job's ExitMessage and the bot
shows to the person; the traceback goes to the log, never to the person.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from processing_job.models import ModelInfo
from processing_job.paths import JobPaths
from processing_job.progress import DONE, LOADING, WRITING, ProgressReporter, ProgressSink, sink_from_env
from processing_job.spec import JobSpec, SpecError

log = logging.getLogger(__name__)

RESULT_VERSION = 1
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
    """Render `spec` into `paths.output_dir`; returns what it wrote to result.json."""
    from processing_job.acceleration import AccelerationOptions
    from processing_job.export import probe_video, write_mp4, write_poster
    from processing_job.families import family_for
    from processing_job.generate import load_pipeline, pick_device, quiet_library_progress_bars, render
    from processing_job.memory import plan_from_env
    from processing_job.weights import resolve_weights

    started = time.perf_counter()
    reporter = ProgressReporter(sink, spec.job_id)
    info = spec.model_info
    # Bad settings fail now, not after a minute of loading.
    family = family_for(info)
    acceleration = AccelerationOptions.for_quality(
        spec.quality, draft_cache=family.default_draft_cache, supported=family.caches
    )
    memory_plan = plan_from_env()

    reporter.phase(LOADING)
    # The picture is checked before any weights load: a bad one fails in a second, not a minute.
    image, image_facts = _prepare_image(spec, paths)
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

    rendered = render(loaded, spec, reporter, image=image, acceleration=acceleration)

    reporter.phase(WRITING)
    writing_started = time.perf_counter()
    paths.output_dir.mkdir(parents=True, exist_ok=True)
    write_mp4(rendered.frames, paths.video_file, spec.fps)
    write_poster(rendered.frames, paths.poster_file)
    video = probe_video(paths.video_file)
    writing_s = time.perf_counter() - writing_started

    timings = {"loading": loading_s, **rendered.timings, "writing": writing_s}
    timings["total"] = time.perf_counter() - started
    needs = loaded.memory_needs
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
        "video": {
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
        },
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
        "warnings": rendered.warnings,
    }
    _write_json(paths.result_file, result)
    reporter.phase(DONE)
    log.info("Job %s done in %.1f s: %s", spec.job_id, timings["total"], paths.video_file)
    return result


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


def failure_message(error: BaseException, spec: JobSpec | None = None) -> str:
    """One or two sentences a person can act on; never a traceback."""
    from processing_job.acceleration import AccelerationSettingError
    from processing_job.generate import RenderError
    from processing_job.images import ImageError
    from processing_job.memory import MemoryPlanError, is_out_of_memory
    from processing_job.weights import WeightsError

    if isinstance(error, SpecError):
        return "The job spec is invalid: " + " ".join(error.problems)
    if isinstance(error, ImageError):
        return f"The picture can't be used: {error}"
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
