"""Who may render, and how much: the workspace's caps applied to the jobs in the store (pure).

The caller reads the jobs (`store.jobs_for_owner(owner, since=...)`, `store.active_jobs()`); these
functions only count. A render that failed or was cancelled before it reached the GPU doesn't count
against the daily cap, which is how a failure gives its quota back; one that reached the GPU used it
(so starting and cancelling renders can't spend GPU time without end). Every refusal is a sentence
for the person: what the limit is, and when it frees up.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.conversation.limits import Limits
from bot.conversation.ports import QuotaCheck
from bot.conversation.sessions import ACTIVE, Job
from processing_job.models import JOIN

DAY_S = 24 * 3600
GIVEN_BACK = frozenset(
    {"failed", "cancelled"}
)  # statuses that give the quota back, if the GPU wasn't reached


def reached_gpu(job: Job) -> bool:
    """Whether the render started on a renderer (its first progress or InProgress event came)."""
    return job.started_at is not None


def counts_against_quota(job: Job) -> bool:
    """A render uses up the daily cap unless it failed or was cancelled before reaching the GPU. A
    join (a storyboard's cut, from shots that each counted) renders nothing and never counts: it runs
    on a CPU instance, once per storyboard at a time, within its own time limit."""
    if job.spec.get("mode") == JOIN:
        return False
    return job.status not in GIVEN_BACK or reached_gpu(job)


@dataclass(frozen=True)
class Usage:
    """One person's renders now, and the workspace's."""

    running: int  # this person's renders queued or in progress
    last_day: int  # this person's renders in the last 24 hours that count
    workspace_running: int  # renders holding one of the workspace's slots (not those waiting in line)
    next_free_at: float | None  # when the oldest counted render leaves the 24-hour window


def usage(owner: str, owner_jobs: Iterable[Job], active_jobs: Iterable[Job], *, now: float) -> Usage:
    active = list(active_jobs)
    counted = sorted(
        job.created_at for job in owner_jobs if counts_against_quota(job) and job.created_at > now - DAY_S
    )
    return Usage(
        running=sum(1 for job in active if job.owner == owner and job.status in ACTIVE),
        last_day=len(counted),
        workspace_running=sum(1 for job in active if holds_slot(job)),
        next_free_at=counted[0] + DAY_S if counted else None,
    )


def access_refusal(limits: Limits, *, user: str, channel: str) -> str | None:
    """Why `user` can't make videos in `channel` at all, or None."""
    if not limits.allows_user(user):
        return "Sorry, making videos isn't open to you in this workspace yet. An admin can add you."
    if not limits.allows_channel(channel):
        places = " ".join(f"<#{c}>" for c in sorted(limits.allowed_channels)[:5])
        return f"I don't make videos in this conversation. You can ask me in {places}."
    return None


REFINE_WINDOW_S = 60


def refine_slots(user: str, limits: Limits, *, now: float) -> list[tuple[str, float]]:
    """The claims (key, expires_at) a refinement by `user` may take: N slots, each held for a minute
    once taken, so one free slot means fewer than N refinements in the last minute (a sliding
    window). Claimed atomically in the store, so they hold across threads, sessions and Lambdas."""
    expires_at = now + REFINE_WINDOW_S
    return [(f"refine-rate:{user}:{n}", expires_at) for n in range(limits.refines_per_minute)]


def refine_rate_refusal(limits: Limits) -> str:
    per = limits.refines_per_minute
    return (
        f"You've asked for {per} {'change' if per == 1 else 'changes'} in the last minute, the most one "
        "person can. Please wait a moment, then reply again."
    )


def render_refusal(limits: Limits, current: Usage, *, queue_when_full: bool = False) -> str | None:
    """Why a new render can't start now, or None. A full workspace refuses too, unless the caller
    queues the render instead (`queue_when_full`: Generate, Reroll... wait in `waiting_line`)."""
    if current.running >= limits.per_user_concurrent:
        plural = "render" if limits.per_user_concurrent == 1 else "renders"
        return (
            f"You already have {current.running} {plural} going, the most one person can run at once. "
            "You can start another as soon as one finishes."
        )
    if current.last_day >= limits.per_user_daily:
        when = slack_time(current.next_free_at) if current.next_free_at else "within a day"
        return (
            f"You've started {current.last_day} renders in the last 24 hours, the daily limit here. "
            f"Your next one frees up {when}. "
            "Renders that fail or are cancelled before they start rendering don't count."
        )
    if not queue_when_full and current.workspace_running >= limits.workspace_concurrent:
        slots = limits.workspace_concurrent
        every = "The render slot" if slots == 1 else f"All {slots} render slots"
        return (
            f"{every} for this workspace {'is' if slots == 1 else 'are'} busy right now. "
            "Please try again when one finishes, usually within a few minutes."
        )
    return None


def holds_slot(job: Job) -> bool:
    """Whether an active render takes one of the workspace's render slots (waiting in line doesn't)."""
    return job.status in ACTIVE and not job.waiting_for_slot


def waiting_line(active_jobs: Iterable[Job]) -> list[Job]:
    """The renders waiting for a free slot, first come first served."""
    waiting = [job for job in active_jobs if job.status == "queued" and job.waiting_for_slot]
    return sorted(waiting, key=lambda job: (job.created_at, job.job_id))


def free_slots(limits: Limits, active_jobs: Iterable[Job]) -> int:
    """How many more renders the workspace may start now."""
    return max(0, limits.workspace_concurrent - sum(1 for job in active_jobs if holds_slot(job)))


def admission(limits: Limits, owner: str, *, now: float, queue_when_full: bool = False) -> QuotaCheck:
    """The check `SessionStore.reserve_job` runs on the jobs as they stand when the render is written:
    the same caps and sentences as `render_refusal`, decided atomically with the write."""

    def check(owner_jobs: Sequence[Job], active_jobs: Sequence[Job]) -> str | None:
        current = usage(owner, owner_jobs, active_jobs, now=now)
        return render_refusal(limits, current, queue_when_full=queue_when_full)

    return check


def slack_time(epoch: float) -> str:
    """A time Slack shows in each reader's own time zone (with a UTC fallback for old clients)."""
    fallback = datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(epoch)}^{{date_short_pretty}} at {{time}}|{fallback}>"
