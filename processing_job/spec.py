"""The JobSpec: what one render is, versioned and validated at both ends.

The bot builds it from a validated draft, the job reads it from `spec.json`. It carries only plain
values: no path, flag or parameter in it can come from language-model text without passing
`validate` first. Nothing here imports torch.

Version 2 (this one) renamed `speed` to `quality` (draft | final: how good, not how fast; `speed`
is still written beside it, the same value, for readers not yet moved, and read when alone) and added
the modes v2v (restyle `video` with a `strength`), extend (continue `video` from its last frame) and
join (`clips`, with an optional `crossfade_s`), and the stages after a render: `interpolate` (1-3×
the frames, same duration) and `upscale` (1, 2 or 4× the size). Mode `stages` runs only the stages,
on `video` (an earlier render smoothed or upscaled as a job of its own); its model, prompt and shape
are those of the render it post-processes, for the record. Version 1 specs are still read (their
`speed` is the quality).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import MISSING, asdict, dataclass, fields, replace
from typing import Any

from processing_job.models import (
    EXTEND,
    I2V,
    JOIN,
    STAGES,
    T2V,
    V2V,
    ModelInfo,
    UnknownModelError,
    resolve_model,
)

SPEC_VERSION = 2
READABLE_VERSIONS = (1, 2)
LEGACY_SPEED = "speed"  # version 1's name for the quality; version 2 writes it too, for old readers
MODES = (T2V, I2V, V2V, EXTEND, JOIN, STAGES)
QUALITIES = ("final", "draft")
INTERPOLATIONS = (1, 2, 3)
UPSCALES = (1, 2, 4)
DEFAULT_STRENGTH = 0.8  # diffusers' default for both video-to-video pipelines
MAX_CLIPS = 24
MAX_CROSSFADE_S = 2.0
# Fields version 1 had; its `speed` is version 2's `quality`.
_V1_FIELDS = frozenset(
    [
        "job_id",
        "model",
        "prompt",
        "num_frames",
        "height",
        "width",
        "fps",
        "num_inference_steps",
        "guidance_scale",
        "seed",
        "mode",
        "negative_prompt",
        "image",
        "speed",
        "version",
    ]
)
MAX_PROMPT_CHARS = 2000
MAX_SEED = 2**32 - 1
MAX_STEPS = 100
MAX_GUIDANCE = 20.0
# SageMaker job names allow 63 characters; we keep room for a prefix.
JOB_ID_PATTERN = re.compile(r"^[A-Za-z0-9](?:-?[A-Za-z0-9]){0,47}$")
IMAGE_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class SpecError(ValueError):
    """A spec that can't be rendered; `problems` holds one plain sentence per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(" ".join(problems))


@dataclass(frozen=True)
class JobSpec:
    job_id: str
    model: str
    prompt: str
    num_frames: int
    height: int
    width: int
    fps: int
    num_inference_steps: int
    guidance_scale: float
    seed: int
    mode: str = T2V
    negative_prompt: str = ""
    image: str | None = None  # a file name inside the job's input folder (image-to-video only)
    quality: str = "final"  # "draft": fewer steps and a cache, for a quick preview
    video: str | None = None  # a file name inside the input folder: the clip to restyle or extend
    strength: float | None = None  # video-to-video: how far from the clip (0-1; None: the default)
    interpolate: int = 1  # smooth: this many times the frames, the same duration
    upscale: int = 1  # this many times the width and height
    clips: tuple[str, ...] = ()  # join: file names inside the input folder, in order
    crossfade_s: float = 0.0  # join: seconds each cut dissolves over
    version: int = SPEC_VERSION

    @property
    def speed(self) -> str:
        """Version 1's name for `quality` (kept for readers not yet moved to it)."""
        return self.quality

    @property
    def restyle_strength(self) -> float | None:
        """The strength a video-to-video render runs at (None for the other modes)."""
        if self.mode != V2V:
            return None
        return DEFAULT_STRENGTH if self.strength is None else self.strength

    @property
    def renders(self) -> bool:
        """Whether the job runs a model (everything but joining clips and running only the stages)."""
        return self.mode not in (JOIN, STAGES)

    @classmethod
    def create(cls, *, job_id: str, model: str, prompt: str, seed: int, **overrides: Any) -> JobSpec:
        """A validated spec with the model's defaults for everything not given (`speed=` is read
        as `quality=`, version 1's name)."""
        if "speed" in overrides:
            legacy = overrides.pop("speed")
            overrides.setdefault("quality", legacy)
        if overrides.get("clips") is not None:
            overrides["clips"] = tuple(overrides["clips"])
        info = resolve_model(model)
        values: dict[str, Any] = {
            "num_frames": info.num_frames,
            "height": info.height,
            "width": info.width,
            "fps": info.fps,
            "num_inference_steps": info.num_inference_steps,
            "guidance_scale": info.guidance_scale,
            "mode": info.mode,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        spec = cls(job_id=job_id, model=info.key, prompt=prompt.strip(), seed=seed, **values)
        spec.validate()
        return spec

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JobSpec:
        """Parse untrusted input (spec.json, an event): types and values are both checked."""
        if not isinstance(data, Mapping):
            raise SpecError(["The job spec must be a JSON object."])
        version = data.get("version", SPEC_VERSION)
        if version not in READABLE_VERSIONS or isinstance(version, bool):
            readable = " or ".join(str(v) for v in READABLE_VERSIONS)
            raise SpecError([f"This job understands spec versions {readable}, not {version!r}."])
        known = {f.name: f for f in fields(cls)}
        allowed = _V1_FIELDS if version == 1 else {*known, LEGACY_SPEED}
        problems = [f"The job spec has an unknown field '{k}'." for k in data if k not in allowed]
        if "quality" in data and data.get(LEGACY_SPEED, data["quality"]) != data["quality"]:
            problems.append("'speed' is the old name of 'quality', and the two disagree.")
        data = _upgraded(data)
        missing = [name for name, f in known.items() if name not in data and f.default is MISSING]
        problems += [f"The job spec is missing '{name}'." for name in missing]
        if problems:
            raise SpecError(problems)
        values = {k: data[k] for k in data if k in known}
        problems = _type_problems(values)
        if problems:
            raise SpecError(problems)
        if "clips" in values:
            values["clips"] = tuple(values["clips"])
        spec = cls(**values)
        spec.validate()
        return spec

    @classmethod
    def from_json(cls, text: str | bytes) -> JobSpec:
        try:
            data = json.loads(text)
        except (ValueError, UnicodeDecodeError) as error:
            raise SpecError([f"The job spec is not valid JSON ({error})."]) from None
        return cls.from_dict(data)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["clips"] = list(self.clips)
        # The quality again under version 1's name, for readers not yet moved to `quality`.
        data[LEGACY_SPEED] = self.quality
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @property
    def model_info(self) -> ModelInfo:
        return resolve_model(self.model)

    @property
    def seconds(self) -> float:
        return (self.num_frames - 1) / self.fps

    def with_changes(self, **changes: Any) -> JobSpec:
        spec = replace(self, **changes)
        spec.validate()
        return spec

    def validate(self) -> None:
        """Raise SpecError listing every problem, each as a sentence a person can act on."""
        try:
            info = resolve_model(self.model)
        except UnknownModelError as error:
            raise SpecError([str(error)]) from None
        problems: list[str] = []
        if not JOB_ID_PATTERN.match(self.job_id):
            problems.append(
                "The job id must be 1-48 letters, digits or single hyphens, starting with a letter or digit."
            )
        if self.mode not in MODES:
            problems.append(f"The mode must be one of {', '.join(MODES)}, not '{self.mode}'.")
        elif self.renders and not info.renders(self.mode):
            problems.append(_mode_problem(info, self.mode))
        if self.renders or self.prompt or self.negative_prompt:
            problems += _prompt_problems(self.prompt, self.negative_prompt)
        problems += _input_problems(self)
        problems += _stage_problems(self)
        problems += _frame_problems(info, self.num_frames)
        problems += _size_problems(info, self.height, self.width)
        if not 1 <= self.fps <= 60:
            problems.append(f"The frame rate must be between 1 and 60 fps, not {self.fps}.")
        if not 1 <= self.num_inference_steps <= MAX_STEPS:
            problems.append(
                f"The number of steps must be between 1 and {MAX_STEPS}, not {self.num_inference_steps}."
            )
        if not 0.0 <= self.guidance_scale <= MAX_GUIDANCE:
            problems.append(
                f"The guidance scale must be between 0 and {MAX_GUIDANCE:g}, not {self.guidance_scale}."
            )
        if not 0 <= self.seed <= MAX_SEED:
            problems.append(f"The seed must be between 0 and {MAX_SEED}, not {self.seed}.")
        if self.quality not in QUALITIES:
            problems.append(f"The quality must be 'final' or 'draft', not '{self.quality}'.")
        if problems:
            raise SpecError(problems)


def _mode_problem(info: ModelInfo, mode: str) -> str:
    if mode == V2V:
        return f"{info.name} can't restyle a video."
    if mode == EXTEND:
        return f"{info.name} can't extend a clip (it has no image-to-video mode)."
    kind = "an image" if info.mode == I2V else "text"
    return f"{info.name} makes videos from {kind}; it can't run in {mode} mode."


def _upgraded(data: Mapping[str, Any]) -> dict[str, Any]:
    """A spec's values as version 2 says them: `speed` is the quality (version 1 had only that name;
    version 2 writes it beside `quality` for older readers). A version 1 spec read is a version 2 spec."""
    values = dict(data)
    if LEGACY_SPEED in values:
        values.setdefault("quality", values[LEGACY_SPEED])
        del values[LEGACY_SPEED]
    if values.get("version") == 1:
        values["version"] = SPEC_VERSION
    return values


def _input_problems(spec: JobSpec) -> list[str]:
    """What each mode takes as input (a picture, a clip, clips) and what it doesn't."""
    problems = []
    mode = spec.mode
    if mode == I2V and not spec.image:
        problems.append("Image-to-video needs an image.")
    if mode != I2V and spec.image:
        problems.append(f"Only image-to-video takes an image; {_MODE_NAMES.get(mode, mode)} doesn't.")
    if spec.image is not None and not IMAGE_NAME_PATTERN.match(spec.image):
        problems.append("The image must be a plain file name inside the job's input folder.")
    if mode in _VIDEO_MODES and not spec.video:
        problems.append(f"{_MODE_NAMES[mode].capitalize()} needs a video.")
    if mode not in _VIDEO_MODES and spec.video:
        problems.append(
            "Only video-to-video, extend and post-processing take a video; "
            f"{_MODE_NAMES.get(mode, mode)} doesn't."
        )
    if spec.video is not None and not IMAGE_NAME_PATTERN.match(spec.video):
        problems.append("The video must be a plain file name inside the job's input folder.")
    if spec.strength is not None:
        if mode != V2V:
            problems.append(f"Only video-to-video takes a strength; {_MODE_NAMES.get(mode, mode)} doesn't.")
        elif not 0.0 < spec.strength <= 1.0:
            problems.append(f"The strength must be above 0 and at most 1, not {spec.strength}.")
    if mode == JOIN and len(spec.clips) < 2:
        problems.append(f"A join needs at least two clips, not {len(spec.clips)}.")
    if mode != JOIN and spec.clips:
        problems.append(f"Only a join takes clips; {_MODE_NAMES.get(mode, mode)} doesn't.")
    if len(spec.clips) > MAX_CLIPS:
        problems.append(f"A join takes at most {MAX_CLIPS} clips, not {len(spec.clips)}.")
    if any(not IMAGE_NAME_PATTERN.match(clip) for clip in spec.clips):
        problems.append("Each clip must be a plain file name inside the job's input folder.")
    if spec.crossfade_s and mode != JOIN:
        problems.append(f"Only a join takes a crossfade; {_MODE_NAMES.get(mode, mode)} doesn't.")
    if not 0.0 <= spec.crossfade_s <= MAX_CROSSFADE_S:
        problems.append(
            f"The crossfade must be between 0 and {MAX_CROSSFADE_S:g} seconds, not {spec.crossfade_s}."
        )
    return problems


def _stage_problems(spec: JobSpec) -> list[str]:
    problems = []
    if spec.mode == STAGES and spec.interpolate == 1 and spec.upscale == 1:
        problems.append(
            "Post-processing needs a stage: smoothing (interpolate 2 or 3) or upscaling (2 or 4)."
        )
    if spec.interpolate not in INTERPOLATIONS:
        problems.append(f"Smoothing makes 1, 2 or 3 times the frames, not {spec.interpolate}.")
    if spec.upscale not in UPSCALES:
        problems.append(f"Upscaling makes the video 1, 2 or 4 times larger, not {spec.upscale}.")
    return problems


_MODE_NAMES = {
    T2V: "text-to-video",
    I2V: "image-to-video",
    V2V: "video-to-video",
    EXTEND: "extend",
    JOIN: "a join",
    STAGES: "post-processing",
}
_VIDEO_MODES = (V2V, EXTEND, STAGES)


def _type_problems(values: Mapping[str, Any]) -> list[str]:
    expected: dict[str, tuple[type, ...]] = {
        "job_id": (str,),
        "model": (str,),
        "prompt": (str,),
        "negative_prompt": (str,),
        "mode": (str,),
        "quality": (str,),
        "image": (str, type(None)),
        "video": (str, type(None)),
        "strength": (int, float, type(None)),
        "interpolate": (int,),
        "upscale": (int,),
        "clips": (list, tuple),
        "crossfade_s": (int, float),
        "num_frames": (int,),
        "height": (int,),
        "width": (int,),
        "fps": (int,),
        "num_inference_steps": (int,),
        "seed": (int,),
        "version": (int,),
        "guidance_scale": (int, float),
    }
    problems = []
    for name, value in values.items():
        types = expected[name]
        # bool is an int in Python, never a valid number here
        if isinstance(value, bool) or not isinstance(value, types):
            wanted = " or ".join("null" if t is type(None) else t.__name__ for t in types)
            problems.append(f"'{name}' must be {wanted}, not {type(value).__name__}.")
        elif name == "clips" and not all(isinstance(clip, str) for clip in value):
            problems.append("'clips' must be a list of file names.")
    return problems


def _prompt_problems(prompt: str, negative_prompt: str) -> list[str]:
    problems = []
    if not prompt.strip():
        problems.append("The prompt is empty: describe the video you want.")
    if len(prompt) > MAX_PROMPT_CHARS:
        problems.append(
            f"The prompt is {len(prompt)} characters; the limit is {MAX_PROMPT_CHARS}. Please shorten it."
        )
    if len(negative_prompt) > MAX_PROMPT_CHARS:
        problems.append(f"The negative prompt is longer than {MAX_PROMPT_CHARS} characters.")
    if "\x00" in prompt or "\x00" in negative_prompt:
        problems.append("The prompt contains a NUL character.")
    return problems


def _frame_problems(info: ModelInfo, num_frames: int) -> list[str]:
    if num_frames in info.allowed_frame_counts():
        return []
    step = info.frame_step
    return [
        f"{info.name} renders {step}N+1 frames between {step + 1} and {info.max_frames} "
        f"(for example {info.num_frames}), not {num_frames}."
    ]


def _size_problems(info: ModelInfo, height: int, width: int) -> list[str]:
    return info.size_problems(height, width)
