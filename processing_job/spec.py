"""The JobSpec: what one render is, versioned and validated at both ends.

The bot builds it from a validated draft, the job reads it from `spec.json`. It carries only plain
values: no path, flag or parameter in it can come from language-model text without passing
`validate` first. Nothing here imports torch.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import MISSING, asdict, dataclass, fields, replace
from typing import Any

from processing_job.models import ModelInfo, UnknownModelError, resolve_model

SPEC_VERSION = 1
MODES = ("t2v", "i2v")
SPEEDS = ("final", "draft")
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
    mode: str = "t2v"
    negative_prompt: str = ""
    image: str | None = None  # a file name inside the job's input folder (image-to-video only)
    speed: str = "final"
    version: int = SPEC_VERSION

    @classmethod
    def create(cls, *, job_id: str, model: str, prompt: str, seed: int, **overrides: Any) -> JobSpec:
        """A validated spec with the model's defaults for everything not given."""
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
        known = {f.name: f for f in fields(cls)}
        problems = [f"The job spec has an unknown field '{k}'." for k in data if k not in known]
        missing = [name for name, f in known.items() if name not in data and f.default is MISSING]
        problems += [f"The job spec is missing '{name}'." for name in missing]
        version = data.get("version", SPEC_VERSION)
        if version != SPEC_VERSION:
            problems.append(f"This job understands spec version {SPEC_VERSION}, not {version!r}.")
        if problems:
            raise SpecError(problems)
        values = {k: data[k] for k in data if k in known}
        problems = _type_problems(values)
        if problems:
            raise SpecError(problems)
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
        return asdict(self)

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
        elif self.mode != info.mode:
            kind = "an image" if info.mode == "i2v" else "text"
            problems.append(f"{info.name} makes videos from {kind}; it can't run in {self.mode} mode.")
        problems += _prompt_problems(self.prompt, self.negative_prompt)
        if self.mode == "i2v" and not self.image:
            problems.append("Image-to-video needs an image.")
        if self.mode == "t2v" and self.image:
            problems.append("Text-to-video takes no image.")
        if self.image is not None and not IMAGE_NAME_PATTERN.match(self.image):
            problems.append("The image must be a plain file name inside the job's input folder.")
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
        if self.speed not in SPEEDS:
            problems.append(f"The speed must be 'final' or 'draft', not '{self.speed}'.")
        if problems:
            raise SpecError(problems)


def _type_problems(values: Mapping[str, Any]) -> list[str]:
    expected: dict[str, tuple[type, ...]] = {
        "job_id": (str,),
        "model": (str,),
        "prompt": (str,),
        "negative_prompt": (str,),
        "mode": (str,),
        "speed": (str,),
        "image": (str, type(None)),
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
