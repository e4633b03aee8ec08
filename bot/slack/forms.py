"""The settings modal's submission, read and checked (pure): either the new draft or an error per field.

Slack shows `response_action: errors` under the inputs they belong to, so every problem is keyed by
the input's block_id. The submission carries the draft as it was when the modal opened (in
`private_metadata`), which is enough to validate it without the store, within Slack's 3 seconds.
A field left at its old value follows a change of model or quality (fewer steps for a draft, the new
model's own guidance), so changing one setting doesn't strand the others. Smooth and Upscale are the
stages after the render (an upscale Slack can't play, such as CogVideoX 1.5 ×4, is refused under its
input); a modal opened before they existed leaves them off.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from typing import Any

from bot.conversation import requests
from bot.conversation.limits import Limits
from bot.conversation.requests import check_request
from bot.conversation.sessions import DraftOptions
from bot.slack import blocks
from processing_job.models import UnknownModelError, resolve_model
from processing_job.spec import INTERPOLATIONS, MAX_GUIDANCE, MAX_PROMPT_CHARS, MAX_SEED, UPSCALES

# Where the modal shows a problem with each field of the request (the model's input for the rest).
INPUT_OF_FIELD = {
    requests.MODEL: blocks.MODEL_INPUT,
    requests.SECONDS: blocks.SECONDS_INPUT,
    requests.FRAMES: blocks.SECONDS_INPUT,
    requests.STEPS: blocks.STEPS_INPUT,
    requests.ASPECT: blocks.ASPECT_INPUT,
    requests.PROMPT: blocks.PROMPT_INPUT,
    requests.UPSCALE: blocks.UPSCALE_INPUT,
}


@dataclass(frozen=True)
class EditedDraft:
    """Which draft the modal edited, and the options it chose."""

    channel: str
    thread_ts: str
    revision: int
    options: DraftOptions
    prompt: str | None = None  # the prompt as the form holds it (None: a form without the field)


class SettingsInvalid(ValueError):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def read_metadata(view: dict[str, Any]) -> dict[str, Any]:
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return {}
    return meta if isinstance(meta, dict) else {}


def _value(values: dict[str, Any], ids: tuple[str, str]) -> Any:
    entry = (values.get(ids[0]) or {}).get(ids[1]) or {}
    if "selected_option" in entry:
        return ((entry.get("selected_option") or {}) or {}).get("value")
    return entry.get("value")


def _number(text: Any, kind: type, low: float, high: float, what: str) -> float | int:
    try:
        number = kind(str(text).strip())
    except (TypeError, ValueError):
        wanted = "a whole number" if kind is int else "a number"
        raise ValueError(f"The {what} must be {wanted}.") from None
    if isinstance(number, float) and not math.isfinite(number):
        raise ValueError(f"The {what} must be a number.")
    if not low <= number <= high:
        raise ValueError(f"The {what} must be between {low:g} and {high:g}.")
    return number


def read_settings(view: dict[str, Any], limits: Limits) -> EditedDraft:
    """The submitted modal as draft options, or SettingsInvalid with a sentence per input."""
    meta = read_metadata(view)
    channel, thread_ts, revision = (
        blocks.ref_field(meta, key) for key in ("channel", "thread_ts", "revision")
    )
    if not (isinstance(channel, str) and isinstance(thread_ts, str) and isinstance(revision, int)):
        raise SettingsInvalid({blocks.MODEL_INPUT[0]: "This form has expired; open Settings again."})
    mode = meta.get("mode") if meta.get("mode") in ("t2v", "i2v") else "t2v"
    values = (view.get("state") or {}).get("values") or {}
    errors: dict[str, str] = {}

    model = str(_value(values, blocks.MODEL_INPUT) or meta.get("model") or "")
    try:
        info = resolve_model(model)
        if info.mode != mode:
            raise UnknownModelError(f"{info.name} can't render this session.")
    except UnknownModelError as error:
        errors[blocks.MODEL_INPUT[0]] = str(error)
        info = None

    parsed: dict[str, Any] = {}
    fields = (
        ("seconds", blocks.SECONDS_INPUT, float, 0.5, limits.max_seconds, "length"),
        ("seed", blocks.SEED_INPUT, int, 0, MAX_SEED, "seed"),
        ("steps", blocks.STEPS_INPUT, int, 1, limits.max_steps, "number of steps"),
        ("guidance", blocks.GUIDANCE_INPUT, float, 0.0, MAX_GUIDANCE, "guidance"),
    )
    for name, ids, kind, low, high, what in fields:
        try:
            parsed[name] = _number(_value(values, ids), kind, low, high, what)
        except ValueError as error:
            errors[ids[0]] = str(error)
    negative = str(_value(values, blocks.NEGATIVE_INPUT) or "").strip()
    if len(negative) > MAX_PROMPT_CHARS:
        errors[blocks.NEGATIVE_INPUT[0]] = f"Please keep this under {MAX_PROMPT_CHARS} characters."
    prompt = _value(values, blocks.PROMPT_INPUT)
    if prompt is not None and not str(prompt).strip():
        errors[blocks.PROMPT_INPUT[0]] = "The prompt can't be empty: describe what the video shows."
    aspect = _value(values, blocks.ASPECT_INPUT)
    aspect = None if aspect in (None, blocks.AUTO_ASPECT) else str(aspect)
    quality = _value(values, blocks.QUALITY_INPUT)
    if quality not in ("draft", "final"):
        errors[blocks.QUALITY_INPUT[0]] = "Choose draft or final quality."
    stages = {}
    for name, ids, allowed, what in (
        ("interpolate", blocks.SMOOTH_INPUT, INTERPOLATIONS, "smoothing"),
        ("upscale", blocks.UPSCALE_INPUT, UPSCALES, "upscaling"),
    ):
        chosen = _value(values, ids)
        factor = int(chosen) if isinstance(chosen, str) and chosen.isdigit() else 1 if chosen is None else 0
        if factor not in allowed:
            errors[ids[0]] = f"Choose one of the {what} options."
        stages[name] = factor
    if errors or info is None:
        raise SettingsInvalid(errors)

    model_changed = info.key != meta.get("model")
    steps: int | None = parsed["steps"]
    if steps == meta.get("steps") and (model_changed or quality != meta.get("quality", meta.get("speed"))):
        steps = None  # left as it was: follow the new model / quality
    guidance: float | None = parsed["guidance"]
    if model_changed and guidance == meta.get("guidance"):
        guidance = None
    options = DraftOptions(
        model=info.key,
        seconds=parsed["seconds"],
        seed=int(parsed["seed"]),
        num_inference_steps=steps,
        guidance_scale=guidance,
        negative_prompt=negative,
        quality=str(quality),
        aspect=aspect,
        interpolate=stages["interpolate"],
        upscale=stages["upscale"],
    )
    typed = str(prompt).strip() if prompt is not None else None
    checked = replace(options, exact_prompt=typed)  # the prompt is checked, not re-written
    problems = check_request(checked, default_model=info.key, limits=limits, mode=mode)
    if problems:
        errors = {}
        for problem in problems:
            errors.setdefault(INPUT_OF_FIELD.get(problem.field, blocks.MODEL_INPUT)[0], problem.sentence)
        raise SettingsInvalid(errors)
    return EditedDraft(channel=channel, thread_ts=thread_ts, revision=revision, options=options, prompt=typed)
