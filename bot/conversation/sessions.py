"""The conversation's state and its rules, with no I/O of their own.

A Session is one Slack thread: who asked, what for, the turns so far and the current draft. A Job is
one render of a draft. Jobs move `queued -> rendering -> delivering -> delivered`, or end `failed` /
`cancelled`; every move is checked here and written conditionally by the store, which is what makes
Slack retries, duplicate job events and double clicks harmless.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from processing_job.models import V2V, ModelInfo, image_model_for, resolve_model
from processing_job.models import model_for_mode as family_model_for_mode
from processing_job.spec import DEFAULT_STRENGTH, JobSpec

SESSION_TTL_SECONDS = 30 * 24 * 3600
PICTURE_TURN = "Animate this picture."  # the turn a picture shared without words stands for
VIDEO_TURN = "Restyle this video."  # the turn a video shared without words stands for
VIDEO_NAME = "video"  # the clip's file name in the job's input folder (plus its extension)
JOB_FLOW: dict[str, tuple[str, ...]] = {
    "queued": ("rendering", "failed", "cancelled"),
    "rendering": ("delivering", "failed", "cancelled"),
    "delivering": ("delivered", "failed"),
}
TERMINAL = frozenset({"delivered", "failed", "cancelled"})
ACTIVE = frozenset(JOB_FLOW)


class ConversationError(Exception):
    """A request the conversation refuses; the message is written for the person who asked."""


class NotAllowed(ConversationError):
    pass


class NoDraft(ConversationError):
    pass


class InvalidTransition(ConversationError):
    pass


class AlreadyDone(ConversationError):
    pass


@dataclass(frozen=True)
class Turn:
    role: str  # "user" or "assistant"
    text: str
    user: str | None = None
    ts: str | None = None  # the Slack message it came from: a redelivered event finds its turn taken


@dataclass(frozen=True)
class DraftOptions:
    """Parameters a person chose (flags, settings); None means "the model's default"."""

    model: str | None = None
    num_frames: int | None = None
    seconds: float | None = None
    seed: int | None = None
    num_inference_steps: int | None = None
    guidance_scale: float | None = None
    negative_prompt: str | None = None
    quality: str | None = None  # "draft" (a quick preview, fewer steps) or "final"
    aspect: str | None = None  # "16:9", "9:16" or "1:1" (ASPECTS); None: the picture's shape or the default
    # The prompt exactly as the person typed it: no refinement (the content policy still judges it).
    exact_prompt: str | None = None
    interpolate: int | None = None  # smooth the render: this many times the frames (1 = not)
    upscale: int | None = None  # upscale the render: this many times the size (1 = not)


@dataclass(frozen=True)
class Draft:
    """The prompt and parameters the next render will use."""

    prompt: str
    model: str
    num_frames: int
    seed: int
    num_inference_steps: int
    guidance_scale: float
    negative_prompt: str = ""
    quality: str = "final"  # "draft" (a quick preview, fewer steps) or "final"
    revision: int = 1
    refined_by: str = "offline"
    # The video's size when it isn't the model's default (a picture's shape, for models that allow it).
    height: int | None = None
    width: int | None = None
    aspect: str | None = None  # the shape the person chose (ASPECTS), kept across model changes
    # The stages after the render: smooth (this many times the frames), upscale (this many times the size).
    interpolate: int = 1
    upscale: int = 1

    def to_spec(
        self,
        job_id: str,
        *,
        mode: str = "t2v",
        image: str | None = None,
        video: str | None = None,
        strength: float | None = None,
    ) -> JobSpec:
        """The render this draft asks for; raises SpecError with every problem."""
        return JobSpec.create(
            job_id=job_id,
            model=self.model,
            prompt=self.prompt,
            seed=self.seed,
            num_frames=self.num_frames,
            num_inference_steps=self.num_inference_steps,
            guidance_scale=self.guidance_scale,
            negative_prompt=self.negative_prompt,
            quality=self.quality,
            mode=mode,
            image=image,
            video=video,
            strength=strength,
            height=self.height,
            width=self.width,
            interpolate=self.interpolate,
            upscale=self.upscale,
        )

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the video."""
        info = resolve_model(self.model)
        return (self.width or info.width, self.height or info.height)

    @property
    def seconds(self) -> float:
        return (self.num_frames - 1) / resolve_model(self.model).fps


@dataclass(frozen=True)
class Session:
    channel: str
    thread_ts: str
    owner: str
    idea: str
    created_at: float
    updated_at: float
    mode: str = "t2v"
    image_key: str | None = None
    image_media_type: str | None = None
    image_width: int | None = None
    image_height: int | None = None
    team: str = ""  # the workspace, which Slack's streaming API asks for outside DMs
    # A restyle (mode v2v): the shared clip, its length, and how far the render may move from it (0-1;
    # the Settings modal's strength field binds here).
    video_key: str | None = None
    video_seconds: float | None = None
    strength: float = DEFAULT_STRENGTH
    turns: tuple[Turn, ...] = ()
    draft: Draft | None = None
    draft_card_ts: str | None = None
    job_ids: tuple[str, ...] = ()
    # Result buttons that start a render (Reroll, Final render, Try again) work once per result.
    used_actions: tuple[str, ...] = ()
    version: int = 0  # bumped by the store on every write; writes are conditional on it

    @property
    def key(self) -> str:
        return session_key(self.channel, self.thread_ts)

    @property
    def expires_at(self) -> int:
        return int(self.updated_at + SESSION_TTL_SECONDS)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Session:
        values = dict(data)
        values["turns"] = tuple(Turn(**t) for t in values.get("turns", ()))
        values["job_ids"] = tuple(values.get("job_ids", ()))
        values["used_actions"] = tuple(values.get("used_actions", ()))
        if values.get("draft") is not None:
            draft = dict(values["draft"])
            if "speed" in draft:  # sessions saved before the quality had its own name
                draft["quality"] = draft.pop("speed")
            values["draft"] = Draft(**draft)
        return cls(**values)


@dataclass(frozen=True)
class Job:
    job_id: str
    channel: str
    thread_ts: str
    owner: str
    spec: dict[str, Any]
    created_at: float
    updated_at: float
    status: str = "queued"
    image_key: str | None = None
    progress_ts: str | None = None
    launched_at: float | None = None  # when the launcher took it (started, or put in line for capacity)
    started_at: float | None = None
    finished_at: float | None = None
    failure: str | None = None
    file_id: str | None = None
    result: dict[str, Any] = field(default_factory=dict)
    version: int = 0
    # More inputs the render reads besides `image_key` (a video to restyle or extend, clips to join):
    # the file name inside the job's input folder (as the spec names it) -> the blob that holds it.
    inputs: dict[str, str] = field(default_factory=dict)
    # Accepted while every render slot of the workspace was busy: it waits in line (queued, not yet
    # handed to the launcher) and is launched when a slot frees (bot.conversation.rendering).
    waiting_for_slot: bool = False
    # The finished render this job continues (Extend) or post-processes (Smooth, Upscale).
    source_job_id: str | None = None
    # The App Home's view of a delivered video (bot.conversation.home): its poster as a Slack file of
    # the bot's, the thread's permalink, and when its owner deleted it (then nothing lists it).
    poster_file_id: str | None = None
    permalink: str | None = None
    deleted_at: float | None = None
    # A storyboard's shot or cut (the storyboard's key): its events go to the storyboard, not the thread.
    storyboard: str = ""

    @property
    def session_key(self) -> str:
        return session_key(self.channel, self.thread_ts)

    def input_blobs(self, spec: JobSpec) -> dict[str, str]:
        """Every file `spec`'s input folder must hold besides the spec: file name -> blob key."""
        wanted = {name for name in (spec.image, spec.video, *spec.clips) if name}
        staged = {name: key for name, key in self.inputs.items() if name in wanted}
        if spec.image and self.image_key:
            staged[spec.image] = self.image_key
        return staged

    @property
    def job_spec(self) -> JobSpec:
        return JobSpec.from_dict(self.spec)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Job:
        return cls(**data)


def draft_steps(info: ModelInfo, quality: str | None) -> int:
    """Denoising steps for a render of `quality`: a draft is a quick preview with fewer steps."""
    if quality != "draft":
        return info.num_inference_steps
    if info.draft_steps is not None:
        return info.draft_steps
    return max(1, round(info.num_inference_steps * 0.4))


def model_for_mode(model: str, mode: str) -> ModelInfo:
    """The model that renders `mode`: a picture needs the image-to-video model of the chosen family.
    Raises UnknownModelError (a ValueError written for people) when there is none."""
    if mode == V2V:
        return family_model_for_mode(model, V2V)
    return image_model_for(model) if mode == "i2v" else resolve_model(model)


def seconds_problem(info: ModelInfo, seconds: float) -> str | None:
    """Why a clip of `seconds` is too long for the model (rounding to its frame rule aside), or None."""
    longest = (info.max_frames - 1) / info.fps
    if seconds > longest + info.frame_step / info.fps / 2:
        return f"{info.name} renders clips of up to {longest:g} seconds, not {seconds:g}."
    return None


def new_draft(
    options: DraftOptions,
    *,
    prompt: str,
    default_model: str,
    seed: int,
    refined_by: str,
    mode: str = "t2v",
) -> Draft:
    """A draft with the person's choices, and the model's defaults for the rest."""
    info = model_for_mode(options.model or default_model, mode)
    height, width = _aspect_or_default(info, options.aspect)
    num_frames = options.num_frames
    if num_frames is None and options.seconds is not None:
        num_frames = info.frames_for_seconds(options.seconds)
    steps = options.num_inference_steps
    if steps is None:
        steps = draft_steps(info, options.quality)
    return Draft(
        prompt=prompt,
        model=info.key,
        num_frames=num_frames if num_frames is not None else info.num_frames,
        seed=options.seed if options.seed is not None else seed,
        num_inference_steps=steps,
        guidance_scale=options.guidance_scale if options.guidance_scale is not None else info.guidance_scale,
        negative_prompt=options.negative_prompt or "",
        quality=options.quality or "final",
        refined_by=refined_by,
        height=height,
        width=width,
        aspect=options.aspect if aspect_size(info, options.aspect) else None,
        interpolate=options.interpolate or 1,
        upscale=options.upscale or 1,
    )


def for_mode(draft: Draft, mode: str) -> Draft:
    """The draft moved to the model that renders `mode`. A new model starts from its own length, steps
    and guidance (another family's values may not be valid for it); prompt, seed and quality stay."""
    info = model_for_mode(draft.model, mode)
    if info.key == draft.model:
        return draft
    options = DraftOptions(
        model=info.key,
        seed=draft.seed,
        negative_prompt=draft.negative_prompt,
        quality=draft.quality,
        aspect=draft.aspect if draft.aspect and aspect_size(info, draft.aspect) else None,
        interpolate=draft.interpolate,
        upscale=draft.upscale,
    )
    return replace(
        new_draft(options, prompt=draft.prompt, default_model=info.key, seed=draft.seed, refined_by=""),
        refined_by=draft.refined_by,
    )


def with_options(draft: Draft, options: DraftOptions, *, mode: str) -> Draft:
    """The draft with the settings a person chose (the settings modal sends every field)."""
    return new_draft(
        options,
        prompt=draft.prompt,
        default_model=draft.model,
        seed=draft.seed,
        refined_by=draft.refined_by,
        mode=mode,
    )


def fitted_to_picture(draft: Draft, session: Session) -> Draft:
    """An image session's draft at the allowed size closest to the picture's shape (a restyle's: the
    clip's shape, and no longer than the clip), or at the shape the person chose, when they chose one
    the model renders."""
    if session.mode == V2V and session.video_seconds:
        info = resolve_model(draft.model)
        fitting = [n for n in info.allowed_frame_counts() if (n - 1) / info.fps <= session.video_seconds]
        draft = replace(draft, num_frames=min(draft.num_frames, fitting[-1] if fitting else draft.num_frames))
    info = resolve_model(draft.model)
    chosen = aspect_size(info, draft.aspect) if draft.aspect else None
    if chosen:
        height, width = chosen
    elif session.mode not in ("i2v", V2V) or not session.image_width or not session.image_height:
        return replace(draft, height=None, width=None)
    else:
        height, width = info.size_for_aspect(session.image_width, session.image_height)
    if (height, width) == (info.height, info.width):
        return replace(draft, height=None, width=None)
    return replace(draft, height=height, width=width)


# The shapes people may ask for: landscape, portrait, square (each model renders the ones its sizes allow).
ASPECTS: dict[str, str] = {"16:9": "landscape", "9:16": "portrait", "1:1": "square"}
# Ratios a size is named by ("cropped to 3:2"), when it is within a few percent of one.
_NAMED_RATIOS = (
    (21, 9), (16, 9), (5, 3), (3, 2), (4, 3), (5, 4), (1, 1), (4, 5), (3, 4), (2, 3), (3, 5), (9, 16)
)  # fmt: skip


def orientation(height: int, width: int) -> str:
    return "landscape" if width > height else "portrait" if height > width else "square"


def aspect_size(info: ModelInfo, aspect: str | None) -> tuple[int, int] | None:
    """The (height, width) `info` renders closest to `aspect` ("16:9", "9:16", "1:1"), among its sizes
    of that orientation; None when it has none (CogVideoX-5B renders landscape only)."""
    if aspect not in ASPECTS:
        return None
    across, down = (int(part) for part in aspect.split(":"))
    fitting = [size for size in info.candidate_sizes() if orientation(*size) == ASPECTS[aspect]]
    if not fitting:
        return None
    wanted = math.log(across / down)
    return min(fitting, key=lambda size: abs(math.log(size[1] / size[0]) - wanted))


def offered_aspects(info: ModelInfo) -> list[str]:
    """The shapes `info` renders, of landscape, portrait and square."""
    return [aspect for aspect in ASPECTS if aspect_size(info, aspect) is not None]


def aspect_problem(info: ModelInfo, aspect: str | None) -> str | None:
    """Why `info` can't render `aspect`, or None."""
    if aspect is None or aspect_size(info, aspect) is not None:
        return None
    if aspect not in ASPECTS:
        return f"The aspect is one of {', '.join(ASPECTS)}, not {aspect}."
    offered = " and ".join(
        f"{ASPECTS[a]} ({size[1]}×{size[0]})" for a in offered_aspects(info) if (size := aspect_size(info, a))
    )
    return f"{info.name} renders {offered} only, not {ASPECTS[aspect]} ({aspect})."


def _aspect_or_default(info: ModelInfo, aspect: str | None) -> tuple[int | None, int | None]:
    """The size for a chosen aspect, or (None, None): the model's default (or the picture's shape)."""
    size = aspect_size(info, aspect) if aspect else None
    if size is None or size == (info.height, info.width):
        return None, None
    return size


def ratio_name(width: int, height: int) -> str:
    """ "16:9", "3:2", ... for a size close to a common ratio; else "width×height"."""
    actual = math.log(width / height)
    across, down = min(_NAMED_RATIOS, key=lambda r: abs(math.log(r[0] / r[1]) - actual))
    if abs(math.log(across / down) - actual) <= 0.04:
        return f"{across}:{down}"
    return f"{width}×{height}"


def cropped_share(picture: tuple[int, int], video: tuple[int, int]) -> tuple[str, float]:
    """What centre-cropping a `picture` (width, height) to fill a `video` frame cuts: ("height" or
    "width", the fraction of it cut). The picture is scaled to cover the frame, never stretched."""
    (pw, ph), (vw, vh) = picture, video
    scale = max(vw / pw, vh / ph)
    width_cut, height_cut = 1 - vw / (pw * scale), 1 - vh / (ph * scale)
    return ("height", height_cut) if height_cut >= width_cut else ("width", width_cut)


CROP_SHOWN_FROM = 0.02  # a cut smaller than this is rounding, not worth a sentence


def crop_note(session: Session) -> str | None:
    """How much of the session's picture its draft's video crops away, when it is more than a sliver:
    "The picture is cropped to 16:9: 44% of its height is cut." (None for words-only sessions)."""
    draft = session.draft
    if session.mode != "i2v" or draft is None or not session.image_width or not session.image_height:
        return None
    width, height = draft.size
    side, share = cropped_share((session.image_width, session.image_height), (width, height))
    if share < CROP_SHOWN_FROM:
        return None
    return f"The picture is cropped to {ratio_name(width, height)}: {share:.0%} of its {side} is cut."


def rerolled(draft: Draft, seed: int) -> Draft:
    return replace(draft, seed=seed)


def as_final(draft: Draft) -> Draft:
    """The full-quality render of a draft preview: same prompt and seed, the model's own steps."""
    return replace(draft, quality="final", num_inference_steps=resolve_model(draft.model).num_inference_steps)


def draft_from_spec(spec: JobSpec, *, refined_by: str) -> Draft:
    """The draft a render was made from (Reroll, Refine and Final render start from a result)."""
    return Draft(
        prompt=spec.prompt,
        model=spec.model,
        num_frames=spec.num_frames,
        seed=spec.seed,
        num_inference_steps=spec.num_inference_steps,
        guidance_scale=spec.guidance_scale,
        negative_prompt=spec.negative_prompt,
        quality=spec.quality,
        refined_by=refined_by,
        height=spec.height,
        width=spec.width,
        interpolate=spec.interpolate,
        upscale=spec.upscale,
    )


def session_key(channel: str, thread_ts: str) -> str:
    return f"{channel}:{thread_ts}"


def job_id_for(session: Session, revision: int) -> str:
    """One job per draft revision: a second click on the same draft finds the job already there."""
    return f"{session.channel}-{session.thread_ts.replace('.', '')}-r{revision}".lower()


def start_session(
    *, channel: str, thread_ts: str, owner: str, idea: str, now: float, team: str = ""
) -> Session:
    turns = (Turn(role="user", text=idea, user=owner),) if idea.strip() else ()
    return Session(
        channel=channel,
        thread_ts=thread_ts,
        owner=owner,
        idea=idea,
        created_at=now,
        updated_at=now,
        team=team,
        turns=turns,
    )


def add_user_turn(session: Session, text: str, user: str, now: float, *, ts: str | None = None) -> Session:
    """A person's reply as a turn; AlreadyDone when that message was already taken (Slack retried it)."""
    _check_new_message(session, ts)
    return replace(session, turns=(*session.turns, Turn("user", text, user, ts)), updated_at=now)


def _check_new_message(session: Session, ts: str | None) -> None:
    if ts is not None and any(turn.ts == ts for turn in session.turns):
        raise AlreadyDone("That message is already part of the conversation.")


def use_image(
    session: Session,
    *,
    image_key: str,
    media_type: str,
    size: tuple[int, int] | None,
    text: str,
    user: str,
    now: float,
    ts: str | None = None,
) -> Session:
    """A picture shared into the session: from now on the session animates it. The words shared with
    it (or a plain request) are the turn the next prompt answers."""
    _check_new_message(session, ts)
    turn = Turn("user", text.strip() or PICTURE_TURN, user, ts)
    return replace(
        session,
        mode="i2v",
        image_key=image_key,
        image_media_type=media_type,
        image_width=size[0] if size else None,
        image_height=size[1] if size else None,
        turns=(*session.turns, turn),
        updated_at=now,
    )


def set_draft(session: Session, draft: Draft, now: float) -> Session:
    """Adopt a new draft (validated), recording the prompt as the assistant's turn."""
    revision = (session.draft.revision + 1) if session.draft else 1
    draft = replace(draft, revision=revision)
    draft.to_spec(job_id_for(session, revision), **spec_inputs(session))
    said = [t.text for t in session.turns if t.role == "assistant"]
    turns = (
        session.turns
        if said and said[-1] == draft.prompt
        else (*session.turns, Turn("assistant", draft.prompt))
    )
    return replace(session, draft=draft, turns=turns, updated_at=now)


def use_action(session: Session, key: str, now: float) -> Session:
    """Mark a one-time action (e.g. "reroll:<job id>") as done; AlreadyDone if it was."""
    if key in session.used_actions:
        raise AlreadyDone("That's already on its way.")
    return replace(session, used_actions=(*session.used_actions, key), updated_at=now)


def forget_action(session: Session, key: str) -> Session:
    """The one-time action usable again (it was refused after all, so it did nothing)."""
    return replace(session, used_actions=tuple(k for k in session.used_actions if k != key))


def check_controller(session: Session, user: str, admins: frozenset[str]) -> None:
    """Only the person who started a session (or an admin) may render, cancel or change it."""
    check_owner(session.owner, user, admins)


def check_owner(owner: str, user: str, admins: frozenset[str]) -> None:
    """Only `owner` (or an admin) may act on what they started: a session, or a render of it."""
    if user != owner and user not in admins:
        raise NotAllowed(f"Only <@{owner}>, who started this video, can do that.")


def plan_job(session: Session, *, user: str, admins: frozenset[str], now: float) -> Job:
    """The job a Generate click on the current draft asks for."""
    check_controller(session, user, admins)
    if session.draft is None:
        raise NoDraft("There is no draft to render yet; describe the video you want first.")
    job_id = job_id_for(session, session.draft.revision)
    spec = session.draft.to_spec(job_id, **spec_inputs(session))
    video = _video_name(session)
    return Job(
        job_id=job_id,
        channel=session.channel,
        thread_ts=session.thread_ts,
        owner=session.owner,
        spec=spec.to_dict(),
        image_key=session.image_key,
        inputs={video: session.video_key} if video and session.video_key else {},
        created_at=now,
        updated_at=now,
    )


def advance(job: Job, status: str, *, now: float, **changes: Any) -> Job:
    """The job moved to `status`, or InvalidTransition if its current status doesn't allow that."""
    if status not in JOB_FLOW.get(job.status, ()):
        raise InvalidTransition(f"Job {job.job_id} can't go from {job.status} to {status}.")
    stamps: dict[str, Any] = {}
    if status == "rendering":
        stamps["started_at"] = now
    if status in TERMINAL:
        stamps["finished_at"] = now
    return replace(job, status=status, updated_at=now, **stamps, **changes)


def _image_name(session: Session) -> str | None:
    if session.mode != "i2v":
        return None
    return session.image_key.rsplit("/", 1)[-1] if session.image_key else None


def _video_name(session: Session) -> str | None:
    """The clip's name in the job's input folder: always the same name, with the blob's extension."""
    if session.mode != V2V or not session.video_key:
        return None
    return f"{VIDEO_NAME}.{session.video_key.rsplit('.', 1)[-1]}"


def spec_inputs(session: Session) -> dict[str, Any]:
    """What a render of `session` takes besides its draft: the mode and its inputs."""
    return {
        "mode": session.mode,
        "image": _image_name(session),
        "video": _video_name(session),
        "strength": session.strength if session.mode == V2V else None,
    }


def use_video(
    session: Session,
    *,
    video_key: str,
    size: tuple[int, int],
    seconds: float,
    text: str,
    user: str,
    now: float,
    ts: str | None = None,
) -> Session:
    """A video shared into the session: from now on the session restyles it (video-to-video). The words
    shared with it (or a plain request) are the turn the next prompt answers."""
    _check_new_message(session, ts)
    turn = Turn("user", text.strip() or VIDEO_TURN, user, ts)
    return replace(
        session,
        mode=V2V,
        video_key=video_key,
        video_seconds=seconds,
        image_width=size[0],
        image_height=size[1],
        turns=(*session.turns, turn),
        updated_at=now,
    )
