"""What can follow a finished video in its thread (pure): ⏩ Extend continues it from its last frame
with its family's image-to-video model and joins the two; 〰️ Smooth and 🔍 Upscale post-process the
clip as a job of its own (JobSpec mode `stages`: no model is loaded).

Each is a job like a render: planned here from the finished one (its source), checked, counted against
the quotas and launched by the use case (bot.conversation.rendering). What a clip has been through is
read from what it is: a clip larger than its model renders was upscaled, one at a higher frame rate was
smoothed. An extension needs the clip as its model renders it (it continues the very frames).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from bot.conversation.requests import upscale_factors, upscale_problems
from bot.conversation.sessions import ConversationError, Job, Session
from processing_job.models import EXTEND, I2V, STAGES, T2V, V2V, ModelInfo, UnknownModelError, model_for_mode
from processing_job.spec import INTERPOLATIONS, JOB_ID_PATTERN, SPEC_VERSION, JobSpec

CLIP_NAME = "clip.mp4"  # the source video, as the follow-up's input folder names it
GENERATED = (T2V, I2V, V2V)  # modes whose result can be rerolled, refined and rendered at full quality
SMOOTH_FACTORS = tuple(n for n in INTERPOLATIONS if n > 1)
MAX_JOB_ID = 48


class FollowUpRefused(ConversationError):
    """A follow-up that can't be made of this video; the message says why, for the person."""


@dataclass(frozen=True)
class Clip:
    """A finished video as it came out of its job (result.json's `video`)."""

    frames: int
    fps: float
    width: int
    height: int

    @property
    def seconds(self) -> float:
        return self.frames / self.fps


def clip_of(job: Job) -> Clip | None:
    """The finished video of `job`, from its result (None before it has one)."""
    video = job.result.get("video") if isinstance(job.result, Mapping) else None
    if not isinstance(video, Mapping):
        return None
    try:
        clip = Clip(int(video["frames"]), float(video["fps"]), int(video["width"]), int(video["height"]))
    except (KeyError, TypeError, ValueError):
        return None
    return clip if clip.frames > 0 and clip.fps > 0 else None


def smoothed(job: Job, clip: Clip) -> bool:
    return clip.fps > float(job.spec.get("fps", 0)) + 1e-3


def upscaled(job: Job, clip: Clip) -> bool:
    return clip.width > int(job.spec.get("width", 0))


def extension_model(spec: Mapping[str, Any]) -> ModelInfo | None:
    """The model that continues a clip of `spec`'s model (its family's image-to-video model), if any."""
    try:
        return model_for_mode(str(spec.get("model", "")), EXTEND)
    except UnknownModelError:
        return None


@dataclass(frozen=True)
class Offers:
    """The follow-ups a finished video offers under it."""

    extend: bool = False
    smooth: tuple[int, ...] = ()
    upscale: tuple[int, ...] = ()


def offers(job: Job) -> Offers:
    """What can follow `job`'s video: Extend where its model family can continue it as it is, Smooth
    unless it was smoothed, Upscale by the factors that keep it within what Slack plays."""
    clip = clip_of(job)
    if clip is None:
        return Offers()
    as_rendered = not smoothed(job, clip) and not upscaled(job, clip)
    return Offers(
        extend=as_rendered and extension_model(job.spec) is not None,
        smooth=() if smoothed(job, clip) else SMOOTH_FACTORS,
        upscale=() if upscaled(job, clip) else upscale_factors(clip.width, clip.height),
    )


def follow_up_id(source_job_id: str, suffix: str) -> str:
    """The id of the follow-up `suffix` of a render: the same click twice names the same job. Ids that
    would grow too long (an extension of an extension of ...) keep their start and a digest."""
    job_id = f"{source_job_id}-{suffix}"
    if len(job_id) <= MAX_JOB_ID:
        return job_id
    digest = hashlib.sha256(job_id.encode()).hexdigest()[:12]
    shortened = f"{source_job_id[: MAX_JOB_ID - len(digest) - 1].rstrip('-')}-{digest}"
    assert JOB_ID_PATTERN.match(shortened)
    return shortened


def extension_spec(source: Job, session: Session, *, job_id: str) -> JobSpec:
    """The spec that continues `source`'s video: its family's image-to-video model at the clip's size,
    as long again as its last part, with the session's prompt (the refined one if the owner replied
    since). FollowUpRefused when the clip can't be continued; SpecError when the spec is invalid."""
    clip = clip_of(source)
    if clip is None:
        raise FollowUpRefused("I can't find that video's details any more, so I can't continue it.")
    if smoothed(source, clip) or upscaled(source, clip):
        raise FollowUpRefused(
            "I can only extend a video at the size and frame rate its model renders, and this one was "
            "smoothed or upscaled. Extend the video above it, then smooth or upscale the result."
        )
    info = extension_model(source.spec)
    if info is None:
        raise FollowUpRefused("This video's model has no image-to-video sibling, so it can't continue it.")
    spec = source.job_spec
    frames = spec.num_frames if spec.num_frames in info.allowed_frame_counts() else info.num_frames
    added = (frames - 1) / info.fps
    total = clip.seconds + added
    if total > info.max_total_seconds + 0.5 / info.fps:
        raise FollowUpRefused(
            f"This clip is {clip.seconds:.1f} s long: another {added:.1f} s would make it {total:.1f} s, "
            f"and {info.name} extends clips to {info.max_total_seconds:g} s at most. "
            "Start a new video for the next scene."
        )
    draft = session.draft
    prompt = draft.prompt if draft else spec.prompt
    if not prompt.strip():  # a cut joined from clips has no prompt of its own
        raise FollowUpRefused("Tell me how the video goes on first: reply in this thread, then Extend.")
    return JobSpec.create(
        job_id=job_id,
        model=info.key,
        prompt=prompt,
        negative_prompt=draft.negative_prompt if draft else spec.negative_prompt,
        seed=spec.seed,
        mode=EXTEND,
        video=CLIP_NAME,
        num_frames=frames,
        height=spec.height,
        width=spec.width,
        num_inference_steps=spec.num_inference_steps,
        guidance_scale=spec.guidance_scale,
        quality=spec.quality,
    )


def stages_spec(source: Job, *, job_id: str, interpolate: int = 1, upscale: int = 1) -> JobSpec:
    """The spec that smooths or upscales `source`'s video as it is (mode `stages`), keeping its render's
    model, prompt and shape for the record. FollowUpRefused when the clip can't take it."""
    clip = clip_of(source)
    if clip is None:
        raise FollowUpRefused("I can't find that video's details any more, so I can't change it.")
    if interpolate > 1 and smoothed(source, clip):
        raise FollowUpRefused("This video is already smoothed.")
    if upscale > 1 and upscaled(source, clip):
        raise FollowUpRefused("This video is already upscaled.")
    problems = upscale_problems(clip.width, clip.height, upscale)
    if problems:
        raise FollowUpRefused(problems[0].sentence)
    # The source render's spec, as the clip it made: only the stages run on it.
    return source.job_spec.with_changes(
        job_id=job_id,
        mode=STAGES,
        image=None,
        video=CLIP_NAME,
        strength=None,
        clips=(),
        crossfade_s=0.0,
        interpolate=interpolate,
        upscale=upscale,
        version=SPEC_VERSION,
    )


def plan_follow_up(session: Session, source_job_id: str, spec: JobSpec, *, video_key: str, now: float) -> Job:
    """The job that makes `spec` of a finished render's video (staged from `video_key`), in the
    session's thread and counted against its owner's quotas."""
    return Job(
        job_id=spec.job_id,
        channel=session.channel,
        thread_ts=session.thread_ts,
        owner=session.owner,
        spec=spec.to_dict(),
        created_at=now,
        updated_at=now,
        inputs={CLIP_NAME: video_key},
        source_job_id=source_job_id,
    )


def parts_of(job: Job) -> tuple[float, ...]:
    """The lengths in seconds of the parts `job`'s video was joined from (one part unless extended)."""
    stored = job.result.get("parts") if isinstance(job.result, Mapping) else None
    if isinstance(stored, list) and stored and all(isinstance(p, int | float) for p in stored):
        return tuple(float(p) for p in stored)
    clip = clip_of(job)
    return (clip.seconds,) if clip else ()


def with_parts(job: Job, result: dict[str, Any], source: Job | None) -> dict[str, Any]:
    """`job`'s result with the parts its video is joined from, when it has more than one: an extension
    adds a part to its source's, post-processing keeps its source's."""
    mode = job.spec.get("mode")
    if mode not in (EXTEND, STAGES) or source is None:
        return result
    before = parts_of(source)
    if mode == EXTEND:
        total = clip_of(replace(job, result=result))
        if total is None or not before:
            return result
        parts = (*before, max(0.0, total.seconds - sum(before)))
    else:
        parts = before
    return {**result, "parts": [round(p, 3) for p in parts]} if len(parts) > 1 else result
