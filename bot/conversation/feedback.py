"""👍 / 👎 on results (pure): one vote per person per render, a second click changes it, each kept with
the render's parameters (model, quality, steps, seed, mode, size, stages), so admins can see what works.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from processing_job.models import UnknownModelError, resolve_model

UP, DOWN = "up", "down"
VOTES = (UP, DOWN)
FEEDBACK_WINDOW_S = 30 * 24 * 3600  # what `/video status` sums for admins


@dataclass(frozen=True)
class Feedback:
    """One person's vote on one render."""

    job_id: str
    user: str
    vote: str  # UP or DOWN
    at: float
    parameters: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Feedback:
        return cls(**data)


def render_parameters(spec: dict[str, Any]) -> dict[str, Any]:
    """What a render was made with, as a vote records it."""
    stages = [mode for mode in ("extend",) if spec.get("mode") == mode]
    if int(spec.get("interpolate", 1) or 1) > 1:
        stages.append(f"smooth x{spec['interpolate']}")
    if int(spec.get("upscale", 1) or 1) > 1:
        stages.append(f"upscale x{spec['upscale']}")
    return {
        "model": spec.get("model"),
        "quality": spec.get("quality", spec.get("speed", "final")),
        "steps": spec.get("num_inference_steps"),
        "seed": spec.get("seed"),
        "mode": spec.get("mode", "t2v"),
        "size": f"{spec.get('width')}×{spec.get('height')}",
        "stages": stages,
    }


def vote_on(job_id: str, spec: dict[str, Any], *, user: str, vote: str, now: float) -> Feedback:
    if vote not in VOTES:
        raise ValueError(f"A vote is {UP} or {DOWN}, not {vote}.")
    return Feedback(job_id=job_id, user=user, vote=vote, at=now, parameters=render_parameters(spec))


@dataclass(frozen=True)
class VoteTotal:
    """The votes on the renders of one model at one quality."""

    model: str
    quality: str
    up: int = 0
    down: int = 0


def totals(feedback: Iterable[Feedback]) -> list[VoteTotal]:
    """Votes summed per model and quality, the most voted first (one vote per person per render)."""
    latest: dict[tuple[str, str], Feedback] = {}
    for item in feedback:  # a store may hold a changed vote twice for a moment: the newest counts
        key = (item.job_id, item.user)
        if key not in latest or item.at >= latest[key].at:
            latest[key] = item
    sums: dict[tuple[str, str], list[int]] = {}
    for item in latest.values():
        model = _model_name(str(item.parameters.get("model", "")))
        counts = sums.setdefault((model, str(item.parameters.get("quality", "final"))), [0, 0])
        counts[0 if item.vote == UP else 1] += 1
    ordered = sorted(sums.items(), key=lambda entry: (-sum(entry[1]), entry[0]))
    return [VoteTotal(model, quality, up, down) for (model, quality), (up, down) in ordered]


def _model_name(key: str) -> str:
    try:
        return resolve_model(key).name
    except UnknownModelError:
        return key or "unknown model"
