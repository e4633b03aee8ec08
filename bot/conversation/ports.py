"""The ports: what the conversation needs from the outside world, and nothing about how.

Each port has one cloud adapter and one local twin with the same behaviour (`store/`, `blobs/`,
`jobs/`, `refiner/`); Slack itself is reached through `chat.SlackChat`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO, Protocol

from bot.conversation.defaults import UserDefaults
from bot.conversation.feedback import Feedback
from bot.conversation.sessions import Job, Session, Turn
from processing_job.spec import JobSpec

if TYPE_CHECKING:
    from bot.conversation.storyboards import Storyboard


class Conflict(Exception):
    """A conditional write lost: someone else changed the item first (or it already exists)."""


class QuotaExceeded(Exception):
    """A render the workspace's caps don't allow right now; the message is for the person who asked."""


# Judges a new render against the jobs that count: (the owner's jobs of the last day, the active jobs)
# -> why it can't start, or None. Pure; the store calls it inside its reservation
# (bot.conversation.quotas.admission).
QuotaCheck = Callable[[Sequence[Job], Sequence[Job]], str | None]


class ChannelSettings(Protocol):
    """What a channel chose (`/video channel pictures all|mention`); the session store keeps it."""

    def channel_pictures(self, channel: str) -> str | None:
        """ "all" (every picture shared there starts a session) or "mention"; None if never set."""
        ...

    def set_channel_pictures(self, channel: str, mode: str) -> None: ...


class SessionStore(ChannelSettings, Protocol):
    def get_session(self, channel: str, thread_ts: str) -> Session | None: ...

    def create_session(self, session: Session) -> Session:
        """Store a new session; Conflict if one exists for that thread."""
        ...

    def save_session(self, session: Session) -> Session:
        """Write `session` if nobody wrote since it was read (same version); Conflict otherwise.
        Returns the session with its new version."""
        ...

    def get_job(self, job_id: str) -> Job | None: ...

    def create_job(self, job: Job) -> Job:
        """Store a new job; Conflict if a job with that id exists."""
        ...

    def reserve_job(self, job: Job, check: QuotaCheck) -> Job:
        """Store a new job only if `check(owner's jobs since a day before job.created_at, active jobs)`
        passes, judged on the jobs as they are when it is written: no other reservation can slip in
        between, so concurrent clicks launch exactly what the caps allow. Conflict if a job with that id
        exists (checked first: a double click isn't a quota problem), QuotaExceeded(why) if refused."""
        ...

    def save_job(self, job: Job) -> Job:
        """Write `job` if nobody wrote since it was read (same version); Conflict otherwise.
        Returns the job with its new version."""
        ...

    def jobs_for_owner(self, owner: str, *, since: float = 0.0, limit: int | None = None) -> list[Job]:
        """One person's jobs created at or after `since`, newest first (quotas, `/video status`); the
        newest `limit` of them when given (the App Home's recent videos)."""
        ...

    def active_jobs(self) -> list[Job]:
        """Every job not yet delivered, failed or cancelled, oldest first (caps, the queue, the sweeper)."""
        ...

    def claim_once(self, key: str, *, expires_at: float, now: float) -> bool:
        """True the first time `key` is claimed; False while an earlier claim of it hasn't expired
        (replayed Slack requests are refused on this)."""
        ...

    def record_feedback(self, feedback: Feedback) -> None:
        """Keep a 👍 / 👎: one per person per render, replacing that person's earlier vote on it."""
        ...

    def feedback_since(self, since: float) -> list[Feedback]:
        """Every vote cast (or last changed) at or after `since`."""
        ...

    def user_defaults(self, user: str) -> UserDefaults | None:
        """What `user` chose on the App Home tab for new sessions, or None if nothing yet."""
        ...

    def save_user_defaults(self, defaults: UserDefaults) -> UserDefaults:
        """Write `defaults` if nobody wrote since they were read (same version; 0 for new ones);
        Conflict otherwise. Returns them with their new version."""
        ...

    # storyboards (`/video story`): one per thread, versioned like sessions

    def get_storyboard(self, channel: str, thread_ts: str) -> Storyboard | None: ...

    def create_storyboard(self, storyboard: Storyboard) -> Storyboard:
        """Store a new storyboard; Conflict if one exists for that thread."""
        ...

    def save_storyboard(self, storyboard: Storyboard) -> Storyboard:
        """Write `storyboard` if nobody wrote since it was read (same version); Conflict otherwise.
        Returns the storyboard with its new version."""
        ...


class BlobNotFound(KeyError):
    pass


class BlobStore(Protocol):
    def put(
        self, key: str, data: bytes | BinaryIO, *, content_type: str = "application/octet-stream"
    ) -> None: ...

    def open(self, key: str) -> BinaryIO:
        """A readable stream of the blob (never the whole object in memory); BlobNotFound if absent."""
        ...

    def size(self, key: str) -> int: ...

    def exists(self, key: str) -> bool: ...

    def delete_folder(self, prefix: str) -> None:
        """Delete every blob under `prefix/` (a deleted video's `renders/<job_id>`); none is fine."""
        ...


@dataclass(frozen=True)
class Launch:
    """What happened when a render was handed to the launcher."""

    state: str  # "started" or "queued"
    queue_position: int = 0


class JobLauncher(Protocol):
    def launch(self, job: Job, spec: JobSpec) -> Launch: ...

    def stop(self, job_id: str) -> None: ...


@dataclass(frozen=True)
class RefineRequest:
    turns: tuple[Turn, ...]  # the thread so far, oldest first; the last is the newest request
    mode: str = "t2v"
    current_prompt: str | None = None
    image: bytes | None = None
    image_media_type: str | None = None
    max_words: int = 170  # within the model's text-encoder limit (see `words_for_tokens`)
    # The model the prompt is for and how it likes prompts: the registry's `name` and `prompt_style`.
    model_name: str = "CogVideoX"
    prompt_style: str = ""


# English runs at about 4 words per 3 tokens in T5 / UMT5 vocabularies (226 tokens ≈ 170 words).
WORDS_PER_TOKEN = 0.75


def words_for_tokens(max_prompt_tokens: int) -> int:
    """The most words a prompt may have to fit `max_prompt_tokens` (the registry's limit)."""
    return int(max_prompt_tokens * WORDS_PER_TOKEN)


@dataclass(frozen=True)
class Refinement:
    prompt: str
    refiner: str  # who wrote it, shown to the person: "offline refiner", "Claude on Bedrock"
    note: str = ""  # a short line about what changed


MIN_SHOTS, MAX_SHOTS, DEFAULT_SHOTS = 2, 8, 4
MAX_SHOT_TITLE_CHARS = 60


@dataclass(frozen=True)
class ShotListRequest:
    """A storyboard to write: `shots` shots telling `idea`, for the model `model_name`."""

    idea: str
    shots: int = DEFAULT_SHOTS
    max_words: int = 170  # per shot's prompt, as RefineRequest.max_words
    model_name: str = "CogVideoX"
    prompt_style: str = ""


@dataclass(frozen=True)
class Shot:
    """One shot of a storyboard: a short title people see, and the prompt it renders."""

    title: str
    prompt: str


@dataclass(frozen=True)
class ShotList:
    shots: tuple[Shot, ...]
    refiner: str  # who wrote it, shown to the person
    note: str = ""


class Refiner(Protocol):
    name: str

    def refine(self, request: RefineRequest, on_text: Callable[[str], None] | None = None) -> Refinement:
        """Write the CogVideoX prompt; `on_text` receives the text so far as it is written."""
        ...

    def shot_list(self, request: ShotListRequest) -> ShotList:
        """Write a storyboard: exactly `request.shots` shots that keep the same characters, look and
        setting from shot to shot, each with a title and a prompt."""
        ...


def chunks(stream: BinaryIO, size: int = 1 << 20) -> Iterator[bytes]:
    while block := stream.read(size):
        yield block


@dataclass(frozen=True)
class GuardVerdict:
    """A content policy's answer: allowed, or refused with a sentence for the person."""

    allowed: bool
    message: str = ""  # why it was refused: the policy's own configured message, or ours


class GuardUnavailable(Exception):
    """The content policy couldn't be asked (throttled, unreachable): nothing may render unchecked."""


class ContentGuard(Protocol):
    """The workspace's content policy (a Bedrock Guardrail, or a local twin), applied to whatever is
    about to be rendered, whoever wrote it."""

    def check_text(self, texts: Sequence[str]) -> GuardVerdict:
        """Judge the texts (a prompt and its negative prompt) together; GuardUnavailable if it can't."""
        ...

    def check_image(self, data: bytes, media_type: str) -> GuardVerdict:
        """Judge a picture; GuardUnavailable if it can't."""
        ...


class RefinerUnavailable(Exception):
    """The refiner couldn't answer; `why` finishes the sentence "Claude on Bedrock …" for the person."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


class RefinementBlocked(Exception):
    """A guardrail stopped the request (or the answer); the message is for the person who asked."""
