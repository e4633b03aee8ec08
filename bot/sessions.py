"""The conversation's state and its rules, with no I/O of their own.

A Session is one Slack thread: who asked, what for, the turns so far and the current draft. A Job is
one render of a draft. Jobs move `queued -> rendering -> delivering -> delivered`, or end `failed` /
`cancelled`; every move is checked here and written conditionally by the store, which is what makes
Slack retries, duplicate job events and double clicks harmless.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from processing_job.models import resolve_model
from processing_job.spec import JobSpec

SESSION_TTL_SECONDS = 30 * 24 * 3600
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


@dataclass(frozen=True)
class Turn:
    role: str  # "user" or "assistant"
    text: str
    user: str | None = None


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
    speed: str | None = None


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
    speed: str = "final"
    revision: int = 1
    refined_by: str = "offline"

    def to_spec(self, job_id: str, *, mode: str = "t2v", image: str | None = None) -> JobSpec:
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
            speed=self.speed,
            mode=mode,
            image=image,
        )

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
    turns: tuple[Turn, ...] = ()
    draft: Draft | None = None
    draft_card_ts: str | None = None
    job_ids: tuple[str, ...] = ()
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
        if values.get("draft") is not None:
            values["draft"] = Draft(**values["draft"])
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
    started_at: float | None = None
    finished_at: float | None = None
    failure: str | None = None
    file_id: str | None = None
    result: dict[str, Any] = field(default_factory=dict)
    version: int = 0

    @property
    def session_key(self) -> str:
        return session_key(self.channel, self.thread_ts)

    @property
    def job_spec(self) -> JobSpec:
        return JobSpec.from_dict(self.spec)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Job:
        return cls(**data)


def new_draft(options: DraftOptions, *, prompt: str, default_model: str, seed: int, refined_by: str) -> Draft:
    """A draft with the person's choices, and the model's defaults for the rest."""
    info = resolve_model(options.model or default_model)
    num_frames = options.num_frames
    if num_frames is None and options.seconds is not None:
        num_frames = info.frames_for_seconds(options.seconds)
    steps = options.num_inference_steps
    if steps is None:
        # A draft is a quick preview: fewer denoising steps (caches come with the job's speed plans).
        steps = (
            max(1, round(info.num_inference_steps * 0.4))
            if options.speed == "draft"
            else info.num_inference_steps
        )
    return Draft(
        prompt=prompt,
        model=info.key,
        num_frames=num_frames if num_frames is not None else info.num_frames,
        seed=options.seed if options.seed is not None else seed,
        num_inference_steps=steps,
        guidance_scale=options.guidance_scale if options.guidance_scale is not None else info.guidance_scale,
        negative_prompt=options.negative_prompt or "",
        speed=options.speed or "final",
        refined_by=refined_by,
    )


def session_key(channel: str, thread_ts: str) -> str:
    return f"{channel}:{thread_ts}"


def job_id_for(session: Session, revision: int) -> str:
    """One job per draft revision: a second click on the same draft finds the job already there."""
    return f"{session.channel}-{session.thread_ts.replace('.', '')}-r{revision}".lower()


def start_session(*, channel: str, thread_ts: str, owner: str, idea: str, now: float) -> Session:
    return Session(
        channel=channel,
        thread_ts=thread_ts,
        owner=owner,
        idea=idea,
        created_at=now,
        updated_at=now,
        turns=(Turn(role="user", text=idea, user=owner),),
    )


def add_user_turn(session: Session, text: str, user: str, now: float) -> Session:
    return replace(session, turns=(*session.turns, Turn("user", text, user)), updated_at=now)


def set_draft(session: Session, draft: Draft, now: float) -> Session:
    """Adopt a new draft (validated), recording the prompt as the assistant's turn."""
    revision = (session.draft.revision + 1) if session.draft else 1
    draft = replace(draft, revision=revision)
    draft.to_spec(job_id_for(session, revision), mode=session.mode, image=_image_name(session))
    return replace(
        session,
        draft=draft,
        turns=(*session.turns, Turn("assistant", draft.prompt)),
        updated_at=now,
    )


def check_controller(session: Session, user: str, admins: frozenset[str]) -> None:
    """Only the person who started a session (or an admin) may render, cancel or change it."""
    if user != session.owner and user not in admins:
        raise NotAllowed(f"Only <@{session.owner}>, who started this video, can do that.")


def plan_job(session: Session, *, user: str, admins: frozenset[str], now: float) -> Job:
    """The job a Generate click on the current draft asks for."""
    check_controller(session, user, admins)
    if session.draft is None:
        raise NoDraft("There is no draft to render yet; describe the video you want first.")
    job_id = job_id_for(session, session.draft.revision)
    spec = session.draft.to_spec(job_id, mode=session.mode, image=_image_name(session))
    return Job(
        job_id=job_id,
        channel=session.channel,
        thread_ts=session.thread_ts,
        owner=session.owner,
        spec=spec.to_dict(),
        image_key=session.image_key,
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
    return session.image_key.rsplit("/", 1)[-1] if session.image_key else None
