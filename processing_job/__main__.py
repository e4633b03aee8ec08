"""Render one video from the command line, through the same code path as the container.

    python -m processing_job --prompt "a corgi surfing at sunset" --model 2b --out corgi.mp4
    python -m processing_job --prompt "the waves roll in" --image beach.jpg --model 5b --draft

Without a GPU or weights, `--model tiny` (the default) renders coloured noise in seconds. With
`--image`, a text-to-video model hands over to its image-to-video sibling, and the video takes the
allowed size closest to the picture's shape.
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
from typing import IO

from processing_job.memory import MEMORY_PLAN_ENV, PLANS
from processing_job.models import TINY_MODEL, ModelInfo, UnknownModelError, image_model_for, resolve_model
from processing_job.paths import JobPaths
from processing_job.progress import DENOISING, ProgressEvent
from processing_job.spec import MAX_SEED, JobSpec, SpecError

IMAGE_NAME = "image"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m processing_job", description=__doc__.splitlines()[0])
    parser.add_argument("--prompt", required=True, help="what the video shows")
    parser.add_argument("--negative-prompt", default="", help="what it should not show")
    parser.add_argument(
        "--model", default=TINY_MODEL, help="tiny, 2b, 5b, 5b-i2v, 1.5 or 1.5-i2v (default: tiny)"
    )
    parser.add_argument("--image", type=Path, help="a picture to animate (image-to-video)")
    parser.add_argument("--frames", type=int, help="frames to render (8N+1 or 16N+1; default: the model's)")
    parser.add_argument("--height", type=int, help="pixels (default: the model's, or the picture's shape)")
    parser.add_argument("--width", type=int, help="pixels (default: the model's, or the picture's shape)")
    parser.add_argument("--steps", type=int, help="denoising steps (default: the model's)")
    parser.add_argument("--guidance", type=float, help="guidance scale (default: the model's)")
    parser.add_argument("--seed", type=int, help="random seed (default: a new one, printed)")
    parser.add_argument("--draft", action="store_true", help="a quick preview: fewer steps and a cache")
    parser.add_argument(
        "--memory-plan", choices=[p for p in PLANS if p != "cpu"], help="override the GPU memory plan"
    )
    parser.add_argument("--out", type=Path, default=Path("video.mp4"), help="where the mp4 goes")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    seed = args.seed if args.seed is not None else secrets.randbelow(MAX_SEED + 1)
    try:
        info = image_model_for(args.model) if args.image else resolve_model(args.model)
        height, width = _size(info, args)
        steps = args.steps if args.steps is not None else (info.draft_steps if args.draft else None)
        spec = JobSpec.create(
            job_id="cli",
            model=info.key,
            prompt=args.prompt,
            seed=seed,
            negative_prompt=args.negative_prompt,
            num_frames=args.frames,
            height=height,
            width=width,
            num_inference_steps=steps,
            guidance_scale=args.guidance,
            image=(IMAGE_NAME + args.image.suffix.lower()) if args.image else None,
            speed="draft" if args.draft else "final",
        )
    except (SpecError, UnknownModelError, _CliError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.memory_plan:
        os.environ[MEMORY_PLAN_ENV] = args.memory_plan  # this process is the job's: inference reads it

    from processing_job import inference

    size = f"{spec.num_frames} frames at {spec.width}×{spec.height}"
    quality = "draft" if args.draft else "final"
    print(f"Rendering {size} with {info.name} ({quality}, {spec.num_inference_steps} steps), seed {seed}")
    with tempfile.TemporaryDirectory(prefix="videobot-job-") as folder:
        paths = JobPaths.in_folder(Path(folder))
        paths.input_dir.mkdir(parents=True)
        paths.spec_file.write_text(spec.to_json())
        if args.image and spec.image:
            shutil.copyfile(args.image, paths.image_file(spec.image))
        bar = ProgressBar()
        try:
            code = inference.main(paths, bar, own_process=True)
        finally:
            bar.close()
        if code != 0:
            print(f"error: {paths.failure_file.read_text(encoding='utf-8')}", file=sys.stderr)
            return 1
        args.out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(paths.video_file, args.out)
        result = json.loads(paths.result_file.read_text())
    for warning in result["warnings"]:
        print(f"warning: {warning}", file=sys.stderr)
    video = result["video"]
    print(
        f"Wrote {args.out}: {video['frames']} frames, {video['width']}×{video['height']}, "
        f"{video['fps']:g} fps, {video['size_bytes']} bytes, in {result['timings_s']['total']:.1f} s "
        f"(weights: {result['weights']['source']}, memory plan: {result['memory']['plan']['name']})"
    )
    return 0


class _CliError(ValueError):
    pass


def _size(info: ModelInfo, args: argparse.Namespace) -> tuple[int | None, int | None]:
    """The size asked for; with a picture and no size, the allowed size closest to its shape."""
    if args.height or args.width or not args.image:
        return args.height, args.width
    from processing_job.images import ImageError, check_image_bytes

    try:
        facts = check_image_bytes(args.image.read_bytes())
    except OSError as error:
        raise _CliError(f"can't read {args.image}: {error.strerror}") from None
    except ImageError as error:
        raise _CliError(str(error)) from None
    return info.size_for_aspect(*facts.upright_size)


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
