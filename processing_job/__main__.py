"""Render one video from the command line, through the same code path as the container.

    python -m processing_job --prompt "a corgi surfing at sunset" --model 2b --out corgi.mp4

Without a GPU or weights, `--model tiny` (the default) renders coloured noise in seconds.
"""

from __future__ import annotations

import argparse
import json
import logging
import secrets
import shutil
import sys
import tempfile
from pathlib import Path

from processing_job.models import TINY_MODEL, UnknownModelError, resolve_model
from processing_job.paths import JobPaths
from processing_job.progress import CallbackSink, ProgressEvent, ThrottledSink
from processing_job.spec import MAX_SEED, JobSpec, SpecError


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m processing_job", description=__doc__.splitlines()[0])
    parser.add_argument("--prompt", required=True, help="what the video shows")
    parser.add_argument("--negative-prompt", default="", help="what it should not show")
    parser.add_argument("--model", default=TINY_MODEL, help="tiny, 2b or 5b (default: tiny)")
    parser.add_argument("--frames", type=int, help="frames to render (8N+1; default: the model's)")
    parser.add_argument("--height", type=int, help="pixels (default: the model's)")
    parser.add_argument("--width", type=int, help="pixels (default: the model's)")
    parser.add_argument("--steps", type=int, help="denoising steps (default: the model's)")
    parser.add_argument("--guidance", type=float, help="guidance scale (default: the model's)")
    parser.add_argument("--seed", type=int, help="random seed (default: a new one, printed)")
    parser.add_argument("--out", type=Path, default=Path("video.mp4"), help="where the mp4 goes")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    seed = args.seed if args.seed is not None else secrets.randbelow(MAX_SEED + 1)
    try:
        spec = JobSpec.create(
            job_id="cli",
            model=resolve_model(args.model).key,
            prompt=args.prompt,
            seed=seed,
            negative_prompt=args.negative_prompt,
            num_frames=args.frames,
            height=args.height,
            width=args.width,
            num_inference_steps=args.steps,
            guidance_scale=args.guidance,
        )
    except (SpecError, UnknownModelError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    from processing_job import inference

    size = f"{spec.num_frames} frames at {spec.width}×{spec.height}"
    print(f"Rendering {size} with {spec.model_info.name}, seed {seed}")
    with tempfile.TemporaryDirectory(prefix="videobot-job-") as folder:
        paths = JobPaths.in_folder(Path(folder))
        paths.input_dir.mkdir(parents=True)
        paths.spec_file.write_text(spec.to_json())
        sink = ThrottledSink(CallbackSink(_print_event))
        if inference.main(paths, sink, own_process=True) != 0:
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
        f"(weights: {result['weights']['source']})"
    )
    return 0


def _print_event(event: ProgressEvent) -> None:
    steps = f" {event.step}/{event.total}" if event.total else ""
    print(f"  {event.elapsed_s:7.1f} s  {event.phase}{steps}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
