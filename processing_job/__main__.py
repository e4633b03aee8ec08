"""Render, restyle, extend or join videos from the command line, through the same code as the container.

    python -m processing_job --prompt "a corgi surfing at sunset" --model 2b --out corgi.mp4
    python -m processing_job --prompt "the waves roll in" --image beach.jpg --model wan2.2-5b --out waves.mp4
    python -m processing_job --prompt "as a watercolour" --video clip.mp4 --strength 0.6 --out paint.mp4
    python -m processing_job --prompt "the corgi jumps" --extend corgi.mp4 --model 5b --out longer.mp4
    python -m processing_job --prompt "a corgi" --interpolate 2 --upscale 2 --out smooth.mp4
    python -m processing_job join a.mp4 b.mp4 c.mp4 --out cut.mp4 --crossfade 0.5

Without a GPU or weights, `--model tiny` (the default) or `tiny-wan` render coloured noise in
seconds. A picture (`--image`) or an extension (`--extend`) goes to the model family's
image-to-video model; a picture or a clip to restyle (`--video`) gives the video the allowed size
closest to its shape; an extension continues the clip at its own size. Every output is H.264,
yuv420p, faststart; `--result` keeps result.json (every stage's parameters and time).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import shutil
import sys
import tempfile
from pathlib import Path
from typing import IO, Any

from processing_job.memory import MEMORY_PLAN_ENV, PLANS
from processing_job.models import (
    EXTEND,
    I2V,
    JOIN,
    TINY_MODEL,
    V2V,
    ModelInfo,
    UnknownModelError,
    model_for_mode,
    resolve_model,
)
from processing_job.paths import JobPaths
from processing_job.progress import DENOISING, ProgressEvent
from processing_job.spec import INTERPOLATIONS, MAX_SEED, UPSCALES, JobSpec, SpecError

IMAGE_NAME = "image"
VIDEO_NAME = "video"
JOIN_COMMAND = "join"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m processing_job", description=__doc__.splitlines()[0])
    parser.add_argument("--prompt", required=True, help="what the video shows")
    parser.add_argument("--negative-prompt", default="", help="what it should not show")
    parser.add_argument(
        "--model",
        default=TINY_MODEL,
        help="tiny, tiny-wan, 2b, 5b, 5b-i2v, 1.5, 1.5-i2v, wan2.2-5b or wan2.1-1.3b (default: tiny)",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--image", type=Path, help="a picture to animate (image-to-video)")
    source.add_argument("--video", type=Path, help="a clip to restyle (video-to-video)")
    source.add_argument("--extend", type=Path, help="a clip to continue from its last frame")
    parser.add_argument("--strength", type=float, help="how far a restyle may move from the clip, 0-1")
    parser.add_argument(
        "--interpolate", type=int, choices=INTERPOLATIONS, default=1, help="smooth: 2 or 3 times the frames"
    )
    parser.add_argument("--upscale", type=int, choices=UPSCALES, default=1, help="2 or 4 times the size")
    parser.add_argument("--frames", type=int, help="frames to render (the model's rule; default: its own)")
    parser.add_argument("--height", type=int, help="pixels (default: the model's, or the input's shape)")
    parser.add_argument("--width", type=int, help="pixels (default: the model's, or the input's shape)")
    parser.add_argument("--steps", type=int, help="denoising steps (default: the model's)")
    parser.add_argument("--guidance", type=float, help="guidance scale (default: the model's)")
    parser.add_argument("--seed", type=int, help="random seed (default: a new one, printed)")
    parser.add_argument("--draft", action="store_true", help="a quick preview: fewer steps and a cache")
    parser.add_argument(
        "--memory-plan", choices=[p for p in PLANS if p != "cpu"], help="override the GPU memory plan"
    )
    parser.add_argument("--out", type=Path, default=Path("video.mp4"), help="where the mp4 goes")
    parser.add_argument("--result", type=Path, help="where to keep result.json (default: not kept)")
    return parser.parse_args(argv)


def parse_join_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=f"python -m processing_job {JOIN_COMMAND}", description="Join clips into one cut."
    )
    parser.add_argument("clips", type=Path, nargs="+", help="the clips, in order")
    parser.add_argument("--out", type=Path, required=True, help="where the joined mp4 goes")
    parser.add_argument("--crossfade", type=float, default=0.0, help="seconds each cut dissolves over")
    parser.add_argument("--result", type=Path, help="where to keep result.json (default: not kept)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if argv[:1] == [JOIN_COMMAND]:
        return _join(parse_join_args(argv[1:]))
    return _render(parse_args(argv))


def _render(args: argparse.Namespace) -> int:
    seed = args.seed if args.seed is not None else secrets.randbelow(MAX_SEED + 1)
    inputs: dict[str, Path] = {}
    try:
        mode, info = _mode_and_model(args)
        height, width = _size(info, mode, args)
        steps = args.steps if args.steps is not None else (info.draft_steps if args.draft else None)
        if args.image:
            inputs[IMAGE_NAME + args.image.suffix.lower()] = args.image
        if args.video or args.extend:
            clip = args.video or args.extend
            inputs[VIDEO_NAME + (clip.suffix.lower() or ".mp4")] = clip
        spec = JobSpec.create(
            job_id="cli",
            model=info.key,
            prompt=args.prompt,
            seed=seed,
            mode=mode,
            negative_prompt=args.negative_prompt,
            num_frames=args.frames,
            height=height,
            width=width,
            num_inference_steps=steps,
            guidance_scale=args.guidance,
            image=next((name for name in inputs if name.startswith(IMAGE_NAME)), None),
            video=next((name for name in inputs if name.startswith(VIDEO_NAME)), None),
            strength=args.strength,
            interpolate=args.interpolate,
            upscale=args.upscale,
            quality="draft" if args.draft else "final",
        )
    except (SpecError, UnknownModelError, _CliError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.memory_plan:
        os.environ[MEMORY_PLAN_ENV] = args.memory_plan  # this process is the job's: inference reads it

    size = f"{spec.num_frames} frames at {spec.width}×{spec.height}"
    what = {I2V: "Animating", V2V: "Restyling", EXTEND: "Extending"}.get(mode, "Rendering")
    quality = "draft" if args.draft else "final"
    print(f"{what}: {size} with {info.name} ({quality}, {spec.num_inference_steps} steps), seed {seed}")
    return _run(spec, inputs, args.out, args.result)


def _join(args: argparse.Namespace) -> int:
    inputs = {
        f"clip-{index:02d}{clip.suffix.lower() or '.mp4'}": clip for index, clip in enumerate(args.clips)
    }
    try:
        missing = [str(clip) for clip in args.clips if not clip.is_file()]
        if missing:
            raise _CliError(f"there is no clip at {', '.join(missing)}")
        spec = JobSpec.create(
            job_id="cli",
            model=TINY_MODEL,  # a join runs no model
            prompt="",
            seed=0,
            mode=JOIN,
            clips=list(inputs),
            crossfade_s=args.crossfade,
        )
    except (SpecError, _CliError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(
        f"Joining {len(args.clips)} clips"
        + (f" with {args.crossfade:g} s crossfades" if args.crossfade else "")
    )
    return _run(spec, inputs, args.out, args.result)


def _run(spec: JobSpec, inputs: dict[str, Path], out: Path, keep_result: Path | None) -> int:
    """Run `spec` as a job in a folder of its own, with `inputs` (job file name -> file) copied in."""
    from processing_job import inference

    with tempfile.TemporaryDirectory(prefix="videobot-job-") as folder:
        paths = JobPaths.in_folder(Path(folder))
        paths.input_dir.mkdir(parents=True)
        paths.spec_file.write_text(spec.to_json())
        for name, source in inputs.items():
            shutil.copyfile(source, paths.input_file(name))
        bar = ProgressBar()
        try:
            code = inference.main(paths, bar, own_process=True)
        finally:
            bar.close()
        if code != 0:
            print(f"error: {paths.failure_file.read_text(encoding='utf-8')}", file=sys.stderr)
            return 1
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(paths.video_file, out)
        if keep_result is not None:
            keep_result.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(paths.result_file, keep_result)
        result = json.loads(paths.result_file.read_text())
    _print_result(result, out)
    return 0


def _print_result(result: dict[str, Any], out: Path) -> None:
    for warning in result["warnings"]:
        print(f"warning: {warning}", file=sys.stderr)
    for stage in result["stages"]:
        params = ", ".join(f"{k}={v}" for k, v in stage["params"].items() if v is not None)
        print(f"  {stage['name']}: {stage['seconds']:.1f} s ({params})")
    video = result["video"]
    made = (
        f" (weights: {result['weights']['source']}, memory plan: {result['memory']['plan']['name']})"
        if "weights" in result
        else ""
    )
    print(
        f"Wrote {out}: {video['frames']} frames, {video['width']}×{video['height']}, "
        f"{video['fps']:g} fps, {video['size_bytes']} bytes, in {result['timings_s']['total']:.1f} s{made}"
    )


class _CliError(ValueError):
    pass


def _mode_and_model(args: argparse.Namespace) -> tuple[str, ModelInfo]:
    if args.image:
        return I2V, model_for_mode(args.model, I2V)
    if args.video:
        return V2V, model_for_mode(args.model, V2V)
    if args.extend:
        return EXTEND, model_for_mode(args.model, EXTEND)
    info = resolve_model(args.model)
    return info.mode, info


def _size(info: ModelInfo, mode: str, args: argparse.Namespace) -> tuple[int | None, int | None]:
    """The size asked for; else an extension's clip size, or the allowed size closest to the shape of
    the picture or the clip to restyle."""
    if args.height or args.width:
        return args.height, args.width
    if args.image:
        from processing_job.images import ImageError, check_image_bytes

        try:
            facts = check_image_bytes(args.image.read_bytes())
        except OSError as error:
            raise _CliError(f"can't read {args.image}: {error.strerror}") from None
        except ImageError as error:
            raise _CliError(str(error)) from None
        return info.size_for_aspect(*facts.upright_size)
    clip = args.video or args.extend
    if clip is None:
        return None, None
    from processing_job.restyle import MAX_INPUT_BYTES, MAX_INPUT_PIXELS, MAX_INPUT_SECONDS
    from processing_job.video_input import VideoInputError, check_video

    try:
        facts = check_video(
            clip,
            max_seconds=info.max_total_seconds if mode == EXTEND else MAX_INPUT_SECONDS,
            max_pixels=MAX_INPUT_PIXELS,
            max_bytes=MAX_INPUT_BYTES,
        )
    except VideoInputError as error:
        raise _CliError(str(error)) from None
    if mode == EXTEND:
        return facts.height, facts.width  # joined frame for frame: the clip's own size
    return info.size_for_aspect(facts.width, facts.height)


class ProgressBar:
    """The phases as lines on stdout, the denoising steps as a progress bar (tqdm) on stderr."""

    def __init__(self, lines: IO[str] | None = None, bar: IO[str] | None = None) -> None:
        self._lines = lines or sys.stdout
        self._bar_file = bar or sys.stderr
        self._bar = None
        self._phase: str | None = None

    def emit(self, event: ProgressEvent) -> None:
        if event.phase == DENOISING and event.total:
            if self._bar is None:
                from tqdm import tqdm

                self._bar = tqdm(total=event.total, desc="denoising", unit="step", file=self._bar_file)
            self._bar.update(event.step - self._bar.n)
            return
        self.close()
        if event.phase != self._phase:
            print(f"  {event.elapsed_s:7.1f} s  {event.phase}", file=self._lines, flush=True)
            self._phase = event.phase

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


if __name__ == "__main__":
    sys.exit(main())
