"""The local session store keeps the same promises as DynamoDB: conditional writes, nothing lost."""

from dataclasses import replace

import pytest

from bot.ports import Conflict
from bot.sessions import DraftOptions, new_draft, plan_job, set_draft, start_session
from bot.store.sqlite import SqliteSessionStore


@pytest.fixture
def store(tmp_path):
    store = SqliteSessionStore(tmp_path / "sessions.db")
    yield store
    store.close()


def a_session():
    s = start_session(channel="C1", thread_ts="1.000001", owner="U1", idea="a fox", now=0)
    d = new_draft(DraftOptions(), prompt="A fox.", default_model="tiny", seed=1, refined_by="x")
    return set_draft(s, d, now=1)


def test_a_session_reads_back_as_written(store):
    written = store.create_session(a_session())
    assert store.get_session("C1", "1.000001") == written


def test_a_thread_has_one_session(store):
    store.create_session(a_session())
    with pytest.raises(Conflict):
        store.create_session(a_session())


def test_a_stale_write_is_refused(store):
    first = store.create_session(a_session())
    store.save_session(replace(first, idea="newer"))
    with pytest.raises(Conflict):
        store.save_session(replace(first, idea="stale"))
    assert store.get_session("C1", "1.000001").idea == "newer"


def test_a_job_is_created_once(store):
    job = plan_job(a_session(), user="U1", admins=frozenset(), now=2)
    store.create_job(job)
    with pytest.raises(Conflict):
        store.create_job(job)


def test_two_writers_of_one_job_version_only_one_wins(store):
    job = store.create_job(plan_job(a_session(), user="U1", admins=frozenset(), now=2))
    store.save_job(replace(job, status="rendering"))
    with pytest.raises(Conflict):
        store.save_job(replace(job, status="failed"))
    assert store.get_job(job.job_id).status == "rendering"


def test_a_persons_jobs_are_listed_newest_first(store):
    older = plan_job(a_session(), user="U1", admins=frozenset(), now=2)
    newer = replace(older, job_id="other-job", created_at=5)
    store.create_job(older)
    store.create_job(newer)
    assert [j.job_id for j in store.jobs_for_owner("U1")] == ["other-job", older.job_id]
    assert [j.job_id for j in store.jobs_for_owner("U1", since=3)] == ["other-job"]


def test_finished_jobs_are_not_active(store):
    job = store.create_job(plan_job(a_session(), user="U1", admins=frozenset(), now=2))
    assert [j.job_id for j in store.active_jobs()] == [job.job_id]
    store.save_job(replace(job, status="failed"))
    assert store.active_jobs() == []
