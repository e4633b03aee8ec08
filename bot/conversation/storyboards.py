"""Storyboards (`/video story`): a shot list rendered as one cut, with no I/O of its own.

A Storyboard is one Slack thread, like a Session: who asked, the idea, the shared render settings (a
Draft whose prompt is the idea), and its shots, each with a title, a prompt and, once generated, its
render. Shots are edited, removed and moved on the card; Generate renders them (in parallel, or one
after another from the previous shot's last frame when `continuity` is on), and when every shot is
done a join renders the cut with crossfades. A failed shot is rendered again alone and the cut rebuilt.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from bot.conversation.costs import Pricing, RenderCost, estimate_render, parallel
from bot.conversation.ports import MAX_SHOTS, MIN_SHOTS, Shot
from bot.conversation.sessions import (
    SESSION_TTL_SECONDS,
    ConversationError,
    Draft,
    Job,
    Session,
    check_owner,
    session_key,
    set_draft,
    start_session,
)
from processing_job.models import EXTEND, JOIN, image_model_for, resolve_model
from processing_job.spec import JobSpec

CROSSFADE_S = 0.5  # each cut dissolves over half a second (less for very short shots)
SHOT_CLIP = "shot{number}.mp4"  # a shot's video, as a join's or an extension's input folder names it

# A shot's state, as its line on the progress message says it.
DRAFTED, WAITING, QUEUED, RENDERING, DONE, FAILED, CANCELLED = (
    "drafted",
    "waiting",
    "queued",
    "rendering",
    "done",
    "failed",
    "cancelled",
)
UNDER_WAY = (WAITING, QUEUED, RENDERING)  # a shot Cancel stops (a waiting one never starts)


class StoryboardChanged(ConversationError):
    """A click on a card that has changed since (a shot moved or removed by another click)."""


@dataclass(frozen=True)
class StoryShot:
    title: str
    prompt: str
    state: str = DRAFTED
    job_id: str | None = None
    percent: int = 0  # while rendering
    failure: str = ""  # why it failed, for its line
    frames: int = 0  # once done: the frames of its clip


@dataclass(frozen=True)
class Storyboard:
    channel: str
    thread_ts: str
    owner: str
    idea: str
    created_at: float
    updated_at: float
    settings: Draft  # model, length, seed, steps, ... for every shot (its prompt is the idea)
    shots: tuple[StoryShot, ...] = ()
    continuity: bool = False  # each shot starts from the previous one's last frame (one after another)
    refined_by: str = ""
    note: str = ""
    revision: int = 1  # bumped by every edit of the shot list: a click on an older card is refused
    card_ts: str | None = None
    progress_ts: str | None = None
    generated: bool = False
    launches: int = 0  # renders started so far (shots, retries, cuts): each job gets a new id
    cut_job_id: str | None = None
    cut_state: str = ""  # "", "joining", "done", "failed", "cancelled"
    cut_failure: str = ""
    cancelled_by: str = ""  # who pressed 🛑 Cancel: nothing more starts; the shots done are kept
    team: str = ""
    version: int = 0

    @property
    def key(self) -> str:
        return session_key(self.channel, self.thread_ts)

    @property
    def expires_at(self) -> int:
        return int(self.updated_at + SESSION_TTL_SECONDS)

    @property
    def all_done(self) -> bool:
        return bool(self.shots) and all(shot.state == DONE for shot in self.shots)

    @property
    def cancelled(self) -> bool:
        return bool(self.cancelled_by)

    @property
    def under_way(self) -> bool:
        """Whether a shot or the cut is still to come (what 🛑 Cancel would stop)."""
        return not self.cancelled and (
            any(shot.state in UNDER_WAY for shot in self.shots) or self.cut_state == "joining"
        )

    def shot_of(self, job_id: str) -> int | None:
        return next((i for i, shot in enumerate(self.shots) if shot.job_id == job_id), None)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Storyboard:
        values = dict(data)
        values["settings"] = Draft(**values["settings"])
        values["shots"] = tuple(StoryShot(**shot) for shot in values.get("shots", ()))
        return cls(**values)


def start_storyboard(
    *,
    channel: str,
    thread_ts: str,
    owner: str,
    idea: str,
    settings: Draft,
    shots: tuple[Shot, ...],
    refined_by: str,
    note: str,
    now: float,
    team: str = "",
) -> Storyboard:
    return Storyboard(
        channel=channel,
        thread_ts=thread_ts,
        owner=owner,
        idea=idea,
        created_at=now,
        updated_at=now,
        settings=settings,
        shots=tuple(StoryShot(title=s.title, prompt=s.prompt) for s in shots),
        refined_by=refined_by,
        note=note,
        team=team,
    )


def shot_count_problem(count: int) -> str | None:
    if not MIN_SHOTS <= count <= MAX_SHOTS:
        return f"A storyboard has {MIN_SHOTS} to {MAX_SHOTS} shots; `--shots {count}` is outside that."
    return None


# editing the shot list (before Generate)


def _editable(board: Storyboard, user: str, admins: frozenset[str], revision: int) -> None:
    check_owner(board.owner, user, admins)
    if board.generated:
        raise StoryboardChanged("This storyboard is already rendering; its shots can't change now.")
    if revision != board.revision:
        raise StoryboardChanged("The storyboard changed since; use the buttons on the card as it is now.")


def _edited(board: Storyboard, shots: tuple[StoryShot, ...], now: float) -> Storyboard:
    return replace(board, shots=shots, revision=board.revision + 1, updated_at=now)


def edit_shot(
    board: Storyboard,
    index: int,
    *,
    title: str,
    prompt: str,
    user: str,
    admins: frozenset[str],
    revision: int,
    now: float,
) -> Storyboard:
    _editable(board, user, admins, revision)
    _check_index(board, index)
    shots = list(board.shots)
    shots[index] = replace(shots[index], title=title.strip() or shots[index].title, prompt=prompt.strip())
    return _edited(board, tuple(shots), now)


def remove_shot(
    board: Storyboard, index: int, *, user: str, admins: frozenset[str], revision: int, now: float
) -> Storyboard:
    _editable(board, user, admins, revision)
    _check_index(board, index)
    if len(board.shots) <= MIN_SHOTS:
        raise ConversationError(f"A storyboard needs at least {MIN_SHOTS} shots, so this one stays.")
    return _edited(board, board.shots[:index] + board.shots[index + 1 :], now)


def move_shot(
    board: Storyboard, index: int, by: int, *, user: str, admins: frozenset[str], revision: int, now: float
) -> Storyboard:
    _editable(board, user, admins, revision)
    _check_index(board, index)
    target = index + by
    if not 0 <= target < len(board.shots):
        return board
    shots = list(board.shots)
    shots[index], shots[target] = shots[target], shots[index]
    return _edited(board, tuple(shots), now)


def set_continuity(
    board: Storyboard, on: bool, *, user: str, admins: frozenset[str], revision: int, now: float
) -> Storyboard:
    _editable(board, user, admins, revision)
    return replace(board, continuity=on, revision=board.revision + 1, updated_at=now)


def _check_index(board: Storyboard, index: int) -> None:
    if not 0 <= index < len(board.shots):
        raise StoryboardChanged("That shot isn't on the storyboard any more.")


# rendering


def shot_job_id(board: Storyboard, index: int) -> str:
    """A new id for a render of shot `index` (a retry is a new render, so it gets a new id)."""
    return f"{board.channel}-{board.thread_ts.replace('.', '')}-s{index + 1}-{board.launches + 1}".lower()


def cut_job_id(board: Storyboard) -> str:
    return f"{board.channel}-{board.thread_ts.replace('.', '')}-cut-{board.launches + 1}".lower()


def shot_draft(board: Storyboard, index: int) -> Draft:
    """The render of shot `index`: the storyboard's settings with the shot's prompt (one seed for all,
    which helps the shots look alike)."""
    return replace(board.settings, prompt=board.shots[index].prompt)


def shot_spec(board: Storyboard, index: int, job_id: str) -> tuple[JobSpec, dict[str, str]]:
    """The spec of shot `index` and the inputs it reads (file name -> job whose video it is).

    With continuity, every shot after the first extends the previous shot's clip from its last frame
    with the family's image-to-video model, so its video is the story so far; the last shot's is the
    cut. Without, each shot is its own text-to-video render."""
    draft = shot_draft(board, index)
    if not board.continuity or index == 0:
        return draft.to_spec(job_id), {}
    previous = board.shots[index - 1]
    assert previous.job_id is not None and previous.state == DONE
    clip = SHOT_CLIP.format(number=index)
    extending = replace(draft, model=image_model_for(draft.model).key)
    return extending.to_spec(job_id, mode=EXTEND, video=clip), {clip: previous.job_id}


def crossfade_s(board: Storyboard) -> float:
    """Half a second, or less when shots are so short that a fade in and out wouldn't fit."""
    fps = resolve_model(board.settings.model).fps
    fade = min(round(CROSSFADE_S * fps), (board.settings.num_frames - 1) // 2)
    return fade / fps


def expected_cut_frames(board: Storyboard) -> int:
    """The cut's frames: every shot's frames, less the frames each crossfade overlaps."""
    fade = round(crossfade_s(board) * resolve_model(board.settings.model).fps)
    return sum(shot.frames for shot in board.shots) - (len(board.shots) - 1) * fade


def cut_spec(board: Storyboard, job_id: str) -> tuple[JobSpec, dict[str, str]]:
    """The join of every shot's clip, in order, with crossfades; and its inputs (file -> shot job)."""
    clips = {SHOT_CLIP.format(number=i + 1): shot.job_id or "" for i, shot in enumerate(board.shots)}
    settings = board.settings
    spec = JobSpec.create(  # the shots' shape and render settings: an Extend of the cut renders alike
        job_id=job_id,
        model=settings.model,
        prompt=board.idea,
        seed=settings.seed,
        mode=JOIN,
        clips=tuple(clips),
        crossfade_s=crossfade_s(board),
        num_frames=settings.num_frames,
        height=settings.height,
        width=settings.width,
        num_inference_steps=settings.num_inference_steps,
        guidance_scale=settings.guidance_scale,
        negative_prompt=settings.negative_prompt,
        quality=settings.quality,
    )
    return spec, clips


def shot_job(board: Storyboard, spec: JobSpec, inputs: dict[str, str], now: float) -> Job:
    return Job(
        job_id=spec.job_id,
        channel=board.channel,
        thread_ts=board.thread_ts,
        owner=board.owner,
        spec=spec.to_dict(),
        created_at=now,
        updated_at=now,
        inputs=inputs,
        storyboard=board.key,
    )


def cut_session(board: Storyboard, cut_job_id: str, now: float) -> Session:
    """The thread as a session once its cut is out, so the cut is a finished video like any other:
    ⏩ Extend, 〰️ Smooth and 🔍 Upscale under it. Its draft is the last shot's render, so Extend
    continues the story from the last frame with the last shot's prompt; a reply from the owner
    refines that draft (as in any session), and Extend then goes on with the refined prompt."""
    session = start_session(
        channel=board.channel,
        thread_ts=board.thread_ts,
        owner=board.owner,
        idea=board.idea,
        now=now,
        team=board.team,
    )
    session = set_draft(session, shot_draft(board, len(board.shots) - 1), now)
    return with_cut(session, cut_job_id)


def with_cut(session: Session, cut_job_id: str) -> Session:
    """`session` with a (re)built cut among its videos."""
    if cut_job_id in session.job_ids:
        return session
    return replace(session, job_ids=(*session.job_ids, cut_job_id))


def with_shot(board: Storyboard, index: int, now: float, **changes: Any) -> Storyboard:
    shots = list(board.shots)
    shots[index] = replace(shots[index], **changes)
    return replace(board, shots=tuple(shots), updated_at=now)


def next_to_launch(board: Storyboard) -> list[int]:
    """The shots that may start now: every waiting one (in parallel), or with continuity the first
    waiting one once every shot before it is done."""
    waiting = [i for i, shot in enumerate(board.shots) if shot.state == WAITING]
    if not board.continuity:
        return waiting
    if waiting and all(shot.state == DONE for shot in board.shots[: waiting[0]]):
        return waiting[:1]
    return []


def cancelled(board: Storyboard, user: str, now: float) -> Storyboard:
    """🛑 Cancel: every shot not yet done is cancelled (a waiting one never starts; a queued or
    rendering one is stopped by the caller), and so is a cut being joined. The shots done stay."""
    shots = tuple(replace(shot, state=CANCELLED) if shot.state in UNDER_WAY else shot for shot in board.shots)
    cut_state = "cancelled" if board.cut_state == "joining" else board.cut_state
    return replace(board, shots=shots, cancelled_by=user, cut_state=cut_state, updated_at=now)


def in_flight(board: Storyboard) -> int:
    return sum(1 for shot in board.shots if shot.state in (QUEUED, RENDERING))


def expected_cost(board: Storyboard, *, pricing: Pricing) -> tuple[RenderCost, RenderCost]:
    """(in parallel, one after another): every shot's predicted render, side by side and then the
    join, or each after the one before (continuity: the last shot's video is the cut, no join)."""
    shots = []
    for index in range(len(board.shots)):
        try:
            spec = shot_draft(board, index).to_spec(f"estimate-{index + 1}")
        except ValueError:  # SpecError, UnknownModelError: the card's Generate will say why
            continue
        shots.append(estimate_render(spec, pricing=pricing))
    if not shots:
        return RenderCost(0.0, None), RenderCost(0.0, None)
    sequential = shots[0]
    for cost in shots[1:]:
        sequential = sequential + cost
    join = estimate_render(cut_spec(board, "estimate-cut")[0], pricing=pricing)
    return parallel(shots) + join, sequential
