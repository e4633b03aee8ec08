"""The one request check: what a render request asks for (the model, the length, the steps...), checked
against the model's rules, the job spec and the workspace's caps, as typed problems.

Every surface asks here: the `/video` command (its flags), the settings modal (its inputs), the buttons'
render paths (the draft as it stands). Each shows the problems its own way: the command answers with
the sentences, the modal puts each under the input its `field` names. Reading the values (a flag's
text, a modal's input) is the surface's own business; what those values may be is decided here.

The checks run in stages, and the first stage with a problem is the answer (a request the model can't
make is refused for that, before the workspace's caps are counted):
1. the model exists (for the session's mode: a picture needs an image-to-video model);
2. the job spec the request makes is valid (processing_job's own validation, `SpecError`), and an
   upscaled video stays within what Slack plays;
3. the clip's length fits the model;
4. the length and steps fit the workspace's caps (for the command, only what the person chose: the
   defaults are brought within the caps by `within_limits`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from bot.conversation.limits import Limits
from bot.conversation.ports import words_for_tokens
from bot.conversation.sessions import Draft, DraftOptions, aspect_problem, new_draft, seconds_problem
from processing_job.models import ModelInfo, UnknownModelError, resolve_model
from processing_job.spec import MAX_PROMPT_CHARS, UPSCALES, SpecError

# The fields of a request, as the surfaces name their inputs after them.
MODEL = "model"
SECONDS = "seconds"  # the clip's length, however it was asked for (seconds or frames)
FRAMES = "frames"
STEPS = "steps"
ASPECT = "aspect"
PROMPT = "prompt"
UPSCALE = "upscale"

# The problems' codes.
UNKNOWN_MODEL = "unknown_model"
INVALID_SPEC = "invalid_spec"
LONGER_THAN_MODEL = "longer_than_model"
LONGER_THAN_WORKSPACE = "longer_than_workspace"
MORE_STEPS_THAN_WORKSPACE = "more_steps_than_workspace"
UNSUPPORTED_ASPECT = "unsupported_aspect"
PROMPT_TOO_LONG = "prompt_too_long"
LARGER_THAN_SLACK = "larger_than_slack"

# Slack plays videos up to 4K: an upscaled video's longer side stays within this (CogVideoX 1.5's
# 1360×768 upscales ×2, not ×4).
MAX_VIDEO_SIDE = 3840


@dataclass(frozen=True)
class Problem:
    """One thing a request asks for that can't be rendered: which field, what kind of problem, and the
    sentence that tells the person."""

    field: str
    code: str
    sentence: str


def sentences(problems: Iterable[Problem]) -> list[str]:
    return [problem.sentence for problem in problems]


def check_request(
    options: DraftOptions,
    *,
    default_model: str,
    limits: Limits,
    mode: str = "t2v",
    prompt: str = "check",
    only_chosen: bool = False,
) -> list[Problem]:
    """What `options` ask for that the model, the job spec or the workspace can't do (empty: nothing).
    `only_chosen`: count the workspace's caps only against what the person chose (the command's flags);
    the model's defaults are fitted to the caps instead."""
    try:
        draft = new_draft(
            options, prompt=prompt, default_model=default_model, seed=0, refined_by="", mode=mode
        )
    except UnknownModelError as error:
        return [Problem(MODEL, UNKNOWN_MODEL, str(error))]
    wrong_shape = aspect_problem(resolve_model(draft.model), options.aspect)
    if wrong_shape:
        return [Problem(ASPECT, UNSUPPORTED_ASPECT, wrong_shape)]
    too_long = prompt_problem(options.exact_prompt, resolve_model(draft.model))
    if too_long:
        return [Problem(PROMPT, PROMPT_TOO_LONG, too_long)]
    problems = spec_problems(draft, mode=mode) or upscale_problems(*draft.size, draft.upscale)
    if problems:
        return problems
    if options.seconds is not None:
        too_long = seconds_problem(resolve_model(draft.model), options.seconds)
        if too_long:
            return [Problem(SECONDS, LONGER_THAN_MODEL, too_long)]
    problems = limit_problems(draft, limits)
    if only_chosen:
        chosen = {STEPS} if options.num_inference_steps is not None else set()
        if options.num_frames is not None or options.seconds is not None:
            chosen.add(SECONDS)
        problems = [problem for problem in problems if problem.field in chosen]
    return problems


def prompt_problem(prompt: str | None, info: ModelInfo) -> str | None:
    """Why a prompt typed by a person is longer than `info` reads (its characters, or its words against
    the text encoder's token limit, at about 4 words per 3 tokens), or None. The bot has no tokenizer:
    the job counts exactly and reports what it cut, this keeps people well clear of that."""
    if prompt is None:
        return None
    if len(prompt) > MAX_PROMPT_CHARS:
        return f"The prompt is {len(prompt)} characters; please keep it under {MAX_PROMPT_CHARS}."
    words, most = len(prompt.split()), words_for_tokens(info.max_prompt_tokens)
    if words > most:
        return (
            f"The prompt is {words} words, but {info.name} reads only {info.max_prompt_tokens} tokens "
            f"(about {most} words): please cut it by {words - most} words or more."
        )
    return None


def spec_problems(draft: Draft, *, mode: str = "t2v") -> list[Problem]:
    """The job spec's own problems with the render `draft` asks for (processing_job validates; its
    `SpecError` is caught here, once). A problem that goes away with the model's usual frame count is
    the frame count's; the rest are the model's (what it can render)."""
    image = "image.png" if mode == "i2v" else None
    video = "video.mp4" if mode == "v2v" else None  # a restyle's clip: any name will do for the check
    try:
        draft.to_spec("request-check", mode=mode, image=image, video=video)
    except SpecError as error:
        found = error.problems
    else:
        return []
    info = resolve_model(draft.model)
    usual = replace(draft, num_frames=info.num_frames)
    try:
        usual.to_spec("request-check", mode=mode, image=image, video=video)
    except SpecError as error:
        remaining = set(error.problems)
    else:
        remaining = set()
    return [Problem(MODEL if p in remaining else FRAMES, INVALID_SPEC, p) for p in found]


def upscale_factors(width: int, height: int) -> tuple[int, ...]:
    """The upscale factors (besides 1) a `width`×`height` video can take and still play in Slack."""
    return tuple(f for f in UPSCALES if f > 1 and max(width, height) * f <= MAX_VIDEO_SIDE)


def upscale_problems(width: int, height: int, factor: int) -> list[Problem]:
    """Why upscaling a `width`×`height` video `factor` times makes one too large for Slack ([] if not)."""
    if factor not in UPSCALES or factor <= 1 or factor in upscale_factors(width, height):
        return []  # a factor no choice offers is the spec's to refuse (JobSpec: "1, 2 or 4 times")
    fitting = upscale_factors(width, height)
    choice = f"choose ×{fitting[-1]}" if fitting else "leave it at its size"
    return [
        Problem(
            UPSCALE,
            LARGER_THAN_SLACK,
            f"Upscaling {width}×{height} ×{factor} would make it {width * factor}×{height * factor}, "
            f"larger than Slack plays ({MAX_VIDEO_SIDE} pixels a side); {choice}.",
        )
    ]


def limit_problems(draft: Draft, limits: Limits) -> list[Problem]:
    """What in a draft goes beyond the workspace's caps on length and steps."""
    problems = []
    if draft.seconds > limits.max_seconds + 1e-9:
        problems.append(
            Problem(
                SECONDS,
                LONGER_THAN_WORKSPACE,
                f"A {draft.seconds:.1f}-second clip is longer than this workspace allows "
                f"({limits.max_seconds:g} s at most).",
            )
        )
    if draft.num_inference_steps > limits.max_steps:
        problems.append(
            Problem(
                STEPS,
                MORE_STEPS_THAN_WORKSPACE,
                f"{draft.num_inference_steps} steps is more than this workspace allows "
                f"({limits.max_steps} at most).",
            )
        )
    return problems


def within_limits(draft: Draft, limits: Limits) -> Draft:
    """A draft whose length or steps came from a model's defaults, brought within the workspace's caps
    (what people ask for explicitly is checked, and refused with a reason, before it gets here)."""
    info = resolve_model(draft.model)
    frames = draft.num_frames
    if draft.seconds > limits.max_seconds:
        fitting = [n for n in info.allowed_frame_counts() if (n - 1) / info.fps <= limits.max_seconds]
        frames = fitting[-1] if fitting else info.allowed_frame_counts()[0]
    return replace(
        draft, num_frames=frames, num_inference_steps=min(draft.num_inference_steps, limits.max_steps)
    )
