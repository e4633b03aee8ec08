"""SessionStore on SQLite: the local twin of the DynamoDB store, with the same conditional writes."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from bot.conversation.defaults import UserDefaults
from bot.conversation.feedback import Feedback
from bot.conversation.ports import Conflict, QuotaCheck, QuotaExceeded
from bot.conversation.sessions import ACTIVE, Job, Session
from bot.conversation.storyboards import Storyboard

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    key TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY,
    session_key TEXT NOT NULL,
    owner TEXT NOT NULL,
    status TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_by_status ON jobs (status, created_at);
CREATE INDEX IF NOT EXISTS jobs_by_owner ON jobs (owner, created_at);
CREATE TABLE IF NOT EXISTS storyboards (
    key TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS claims (
    key TEXT PRIMARY KEY,
    expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS feedback (
    job_id TEXT NOT NULL,
    user TEXT NOT NULL,
    at REAL NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (job_id, user)
);
CREATE TABLE IF NOT EXISTS channel_settings (
    channel TEXT PRIMARY KEY,
    pictures TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS user_defaults (
    user TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS pending_requests (
    key TEXT PRIMARY KEY,
    listener TEXT NOT NULL,
    created_at REAL NOT NULL,
    body TEXT NOT NULL
);
"""
DAY_S = 24 * 3600


@dataclass(frozen=True)
class PendingRequest:
    """A Slack request whose slow work (a lazy listener) was started and hasn't finished."""

    key: str
    listener: str
    created_at: float
    body: str  # the request's body, as Slack sent it (who asked, where)


class SqliteSessionStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._path = path
        # One connection shared by the app's threads, serialised by a lock: writes are tiny.
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # sessions

    def get_session(self, channel: str, thread_ts: str) -> Session | None:
        with self._lock:
            row = self._db.execute(
                "SELECT body FROM sessions WHERE key = ?", (f"{channel}:{thread_ts}",)
            ).fetchone()
        return Session.from_dict(json.loads(row[0])) if row else None

    def create_session(self, session: Session) -> Session:
        stored = replace(session, version=1)
        with self._transaction() as db:
            try:
                db.execute(
                    "INSERT INTO sessions (key, version, expires_at, body) VALUES (?, ?, ?, ?)",
                    (stored.key, stored.version, stored.expires_at, json.dumps(stored.to_dict())),
                )
            except sqlite3.IntegrityError:
                raise Conflict(f"session {session.key} exists") from None
        return stored

    def save_session(self, session: Session) -> Session:
        stored = replace(session, version=session.version + 1)
        with self._transaction() as db:
            cursor = db.execute(
                "UPDATE sessions SET version = ?, expires_at = ?, body = ? WHERE key = ? AND version = ?",
                (
                    stored.version,
                    stored.expires_at,
                    json.dumps(stored.to_dict()),
                    session.key,
                    session.version,
                ),
            )
            if cursor.rowcount != 1:
                raise Conflict(f"session {session.key} changed since version {session.version}")
        return stored

    # jobs

    def get_job(self, job_id: str) -> Job | None:
        with self._lock:
            row = self._db.execute("SELECT body FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
        return Job.from_dict(json.loads(row[0])) if row else None

    def create_job(self, job: Job) -> Job:
        with self._transaction() as db:
            return self._insert_job(db, job)

    def reserve_job(self, job: Job, check: QuotaCheck) -> Job:
        # One IMMEDIATE transaction: the count and the insert happen with the database locked.
        with self._transaction() as db:
            if db.execute("SELECT 1 FROM jobs WHERE job_id = ?", (job.job_id,)).fetchone():
                raise Conflict(f"job {job.job_id} exists")
            refusal = check(self._owner_jobs(db, job.owner, job.created_at - DAY_S), self._active(db))
            if refusal:
                raise QuotaExceeded(refusal)
            return self._insert_job(db, job)

    @staticmethod
    def _insert_job(db: sqlite3.Connection, job: Job) -> Job:
        stored = replace(job, version=1)
        try:
            db.execute(
                "INSERT INTO jobs (job_id, session_key, owner, status, version, created_at, updated_at,"
                " body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    stored.job_id,
                    stored.session_key,
                    stored.owner,
                    stored.status,
                    stored.version,
                    stored.created_at,
                    stored.updated_at,
                    json.dumps(stored.to_dict()),
                ),
            )
        except sqlite3.IntegrityError:
            raise Conflict(f"job {job.job_id} exists") from None
        return stored

    def save_job(self, job: Job) -> Job:
        stored = replace(job, version=job.version + 1)
        with self._transaction() as db:
            cursor = db.execute(
                "UPDATE jobs SET status = ?, version = ?, updated_at = ?, body = ?"
                " WHERE job_id = ? AND version = ?",
                (
                    stored.status,
                    stored.version,
                    stored.updated_at,
                    json.dumps(stored.to_dict()),
                    job.job_id,
                    job.version,
                ),
            )
            if cursor.rowcount != 1:
                raise Conflict(f"job {job.job_id} changed since version {job.version}")
        return stored

    def jobs_for_owner(self, owner: str, *, since: float = 0.0, limit: int | None = None) -> list[Job]:
        with self._lock:
            return self._owner_jobs(self._db, owner, since, limit)

    def active_jobs(self) -> list[Job]:
        with self._lock:
            return self._active(self._db)

    @classmethod
    def _owner_jobs(
        cls, db: sqlite3.Connection, owner: str, since: float, limit: int | None = None
    ) -> list[Job]:
        query = "SELECT body FROM jobs WHERE owner = ? AND created_at >= ? ORDER BY created_at DESC LIMIT ?"
        return cls._jobs(db, query, (owner, since, -1 if limit is None else limit))

    @classmethod
    def _active(cls, db: sqlite3.Connection) -> list[Job]:
        placeholders = ",".join("?" * len(ACTIVE))
        query = f"SELECT body FROM jobs WHERE status IN ({placeholders}) ORDER BY created_at"  # noqa: S608
        return cls._jobs(db, query, tuple(sorted(ACTIVE)))

    @staticmethod
    def _jobs(db: sqlite3.Connection, query: str, parameters: tuple[object, ...]) -> list[Job]:
        return [Job.from_dict(json.loads(row[0])) for row in db.execute(query, parameters).fetchall()]

    # storyboards

    def get_storyboard(self, channel: str, thread_ts: str) -> Storyboard | None:
        with self._lock:
            row = self._db.execute(
                "SELECT body FROM storyboards WHERE key = ?", (f"{channel}:{thread_ts}",)
            ).fetchone()
        return Storyboard.from_dict(json.loads(row[0])) if row else None

    def create_storyboard(self, storyboard: Storyboard) -> Storyboard:
        stored = replace(storyboard, version=1)
        with self._transaction() as db:
            try:
                db.execute(
                    "INSERT INTO storyboards (key, version, expires_at, body) VALUES (?, ?, ?, ?)",
                    (stored.key, stored.version, stored.expires_at, json.dumps(stored.to_dict())),
                )
            except sqlite3.IntegrityError:
                raise Conflict(f"storyboard {storyboard.key} exists") from None
        return stored

    def save_storyboard(self, storyboard: Storyboard) -> Storyboard:
        stored = replace(storyboard, version=storyboard.version + 1)
        with self._transaction() as db:
            cursor = db.execute(
                "UPDATE storyboards SET version = ?, expires_at = ?, body = ? WHERE key = ? AND version = ?",
                (
                    stored.version,
                    stored.expires_at,
                    json.dumps(stored.to_dict()),
                    stored.key,
                    storyboard.version,
                ),
            )
            if cursor.rowcount != 1:
                raise Conflict(f"storyboard {storyboard.key} changed since version {storyboard.version}")
        return stored

    # claims

    def claim_once(self, key: str, *, expires_at: float, now: float) -> bool:
        with self._transaction() as db:
            db.execute("DELETE FROM claims WHERE expires_at < ?", (now,))  # a small table stays small
            cursor = db.execute(
                "INSERT INTO claims (key, expires_at) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
                (key, expires_at),
            )
            return cursor.rowcount == 1

    # 👍 / 👎 on results: one row per person per render

    def record_feedback(self, feedback: Feedback) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO feedback (job_id, user, at, body) VALUES (?, ?, ?, ?)",
                (feedback.job_id, feedback.user, feedback.at, json.dumps(feedback.to_dict())),
            )

    def feedback_since(self, since: float) -> list[Feedback]:
        with self._lock:
            rows = self._db.execute(
                "SELECT body FROM feedback WHERE at >= ? ORDER BY at", (since,)
            ).fetchall()
        return [Feedback.from_dict(json.loads(row[0])) for row in rows]

    # channel settings (`/video channel pictures all|mention`)

    def channel_pictures(self, channel: str) -> str | None:
        with self._lock:
            row = self._db.execute(
                "SELECT pictures FROM channel_settings WHERE channel = ?", (channel,)
            ).fetchone()
        return str(row[0]) if row else None

    def set_channel_pictures(self, channel: str, mode: str) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO channel_settings (channel, pictures) VALUES (?, ?)", (channel, mode)
            )

    # people's defaults for new sessions (the App Home tab)

    def user_defaults(self, user: str) -> UserDefaults | None:
        with self._lock:
            row = self._db.execute("SELECT body FROM user_defaults WHERE user = ?", (user,)).fetchone()
        return UserDefaults(**json.loads(row[0])) if row else None

    def save_user_defaults(self, defaults: UserDefaults) -> UserDefaults:
        stored = replace(defaults, version=defaults.version + 1)
        body = json.dumps(asdict(stored))
        with self._transaction() as db:
            if defaults.version == 0:
                cursor = db.execute(
                    "INSERT INTO user_defaults (user, version, body) VALUES (?, ?, ?)"
                    " ON CONFLICT (user) DO NOTHING",
                    (stored.user, stored.version, body),
                )
            else:
                cursor = db.execute(
                    "UPDATE user_defaults SET version = ?, body = ? WHERE user = ? AND version = ?",
                    (stored.version, body, stored.user, defaults.version),
                )
            if cursor.rowcount != 1:
                raise Conflict(f"the defaults of {defaults.user} changed since version {defaults.version}")
        return stored

    # accepted requests whose slow work hasn't finished (local only: on Lambda, a dead lazy
    # invocation lands on the function's dead-letter queue instead)

    def add_pending(self, key: str, *, listener: str, body: str, now: float) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO pending_requests (key, listener, created_at, body)"
                " VALUES (?, ?, ?, ?)",
                (key, listener, now, body),
            )

    def finish_pending(self, key: str) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM pending_requests WHERE key = ?", (key,))

    def pending_requests(self) -> list[PendingRequest]:
        """Oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT key, listener, created_at, body FROM pending_requests ORDER BY created_at"
            ).fetchall()
        return [PendingRequest(key=r[0], listener=r[1], created_at=r[2], body=r[3]) for r in rows]
