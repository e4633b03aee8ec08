"""The optimistic-update loop every SessionStore is used through: read, change, write conditionally on
the version read; on a conflict, re-read and re-apply."""

from __future__ import annotations

from collections.abc import Callable

from bot.conversation.ports import Conflict, SessionStore
from bot.conversation.sessions import Job, Session
from bot.conversation.storyboards import Storyboard

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


def change_storyboard(
    store: SessionStore, board: Storyboard, change: Callable[[Storyboard], Storyboard]
) -> Storyboard:
    """As `change_session`, for a storyboard (its shots finish in any order, each writing its line)."""
    for _ in range(ATTEMPTS * 4):  # parallel shots write to one item: more rounds than a session needs
        try:
            return store.save_storyboard(change(board))
        except Conflict:
            fresh = store.get_storyboard(board.channel, board.thread_ts)
            if fresh is None:
                raise
            board = fresh
    raise Conflict(f"storyboard {board.key} kept changing")
