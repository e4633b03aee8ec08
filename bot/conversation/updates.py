"""The optimistic-update loop every SessionStore is used through: read, change, write conditionally on
the version read; on a conflict, re-read and re-apply."""

from __future__ import annotations

from collections.abc import Callable

from bot.conversation.ports import Conflict, SessionStore
from bot.conversation.sessions import Job, Session

ATTEMPTS = 5


def change_session(store: SessionStore, session: Session, change: Callable[[Session], Session]) -> Session:
    """Write `change(session)`; if someone wrote first, apply `change` to their version instead."""
    for _ in range(ATTEMPTS):
        try:
            return store.save_session(change(session))
        except Conflict:
            fresh = store.get_session(session.channel, session.thread_ts)
            if fresh is None:
                raise
            session = fresh
    raise Conflict(f"session {session.key} kept changing")


def change_job(store: SessionStore, job: Job, change: Callable[[Job], Job]) -> Job:
    """As `change_session`, for a job. `change` may raise (e.g. InvalidTransition) after a re-read:
    that is how a duplicate event learns the job has already moved on."""
    for _ in range(ATTEMPTS):
        try:
            return store.save_job(change(job))
        except Conflict:
            fresh = store.get_job(job.job_id)
            if fresh is None:
                raise
            job = fresh
    raise Conflict(f"job {job.job_id} kept changing")
