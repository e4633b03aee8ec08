"""The session store's two adapters keep the same promises: DynamoDB (on moto's server) and its local
twin SQLite: conditional writes, one session per thread, one job per id, the queries quotas and the
sweeper use. Then what only the table has: TTL and the sparse index of active jobs."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.adapters.store.dynamodb import DynamoDbSessionStore
from bot.conversation.ports import Conflict
from bot.conversation.sessions import (
    SESSION_TTL_SECONDS,
    DraftOptions,
    new_draft,
    plan_job,
    set_draft,
    start_session,
)
from tests.fakes.aws_lambda import TABLE


@pytest.fixture
def table(resources):
    return DynamoDbSessionStore(TABLE, resources.dynamodb)


def a_session(thread_ts="1.000001"):
    s = start_session(channel="C1", thread_ts=thread_ts, owner="U1", idea="a fox", now=0)
    d = new_draft(DraftOptions(), prompt="A fox.", default_model="tiny", seed=1, refined_by="x")
    return set_draft(s, d, now=1)


def a_job(job_id=None, created_at=2.0, owner="U1"):
    job = plan_job(a_session(), user="U1", admins=frozenset(), now=created_at)
    return replace(job, job_id=job_id or job.job_id, owner=owner)


def test_a_session_reads_back_as_written(store):
    written = store.create_session(a_session())
    assert store.get_session("C1", "1.000001") == written
    assert store.get_session("C1", "9.9") is None


def test_a_thread_has_one_session(store):
    store.create_session(a_session())
    with pytest.raises(Conflict):
        store.create_session(a_session())


def test_a_stale_session_write_is_refused(store):
    first = store.create_session(a_session())
    store.save_session(replace(first, idea="newer"))
    with pytest.raises(Conflict):
        store.save_session(replace(first, idea="stale"))
    assert store.get_session("C1", "1.000001").idea == "newer"


def test_a_job_is_created_once(store):
    store.create_job(a_job())
    with pytest.raises(Conflict):
        store.create_job(a_job())


def test_two_writers_of_one_job_version_only_one_wins(store):
    job = store.create_job(a_job())
    store.save_job(replace(job, status="rendering"))
    with pytest.raises(Conflict):
        store.save_job(replace(job, status="failed"))
    assert store.get_job(job.job_id).status == "rendering"


def test_a_persons_jobs_are_listed_newest_first_from_a_time(store):
    store.create_job(a_job("older", created_at=2.0))
    store.create_job(a_job("newer", created_at=5.5))
    store.create_job(a_job("someone-else", created_at=6.0, owner="U2"))
    assert [j.job_id for j in store.jobs_for_owner("U1")] == ["newer", "older"]
    assert [j.job_id for j in store.jobs_for_owner("U1", since=3.0)] == ["newer"]


def test_active_jobs_are_listed_oldest_first_and_finished_ones_drop_out(store):
    second = store.create_job(a_job("second", created_at=4.0))
    store.create_job(a_job("first", created_at=3.0))
    assert [j.job_id for j in store.active_jobs()] == ["first", "second"]
    store.save_job(replace(second, status="cancelled"))
    assert [j.job_id for j in store.active_jobs()] == ["first"]


def test_sessions_and_jobs_expire_through_the_tables_ttl(table, resources):
    table.create_session(a_session())
    job = table.create_job(a_job(created_at=100.0))
    items = {
        key: resources.dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": key}})["Item"]
        for key in ("session#C1:1.000001", f"job#{job.job_id}")
    }
    assert int(items["session#C1:1.000001"]["expires_at"]["N"]) == 1 + SESSION_TTL_SECONDS
    assert int(items[f"job#{job.job_id}"]["expires_at"]["N"]) == int(job.updated_at) + SESSION_TTL_SECONDS
    ttl = resources.dynamodb.describe_time_to_live(TableName=TABLE)["TimeToLiveDescription"]
    assert ttl["AttributeName"] == "expires_at"


def test_a_finished_job_leaves_the_sparse_index(table, resources):
    job = table.create_job(a_job())
    key = {"pk": {"S": f"job#{job.job_id}"}}
    assert resources.dynamodb.get_item(TableName=TABLE, Key=key)["Item"]["active_key"] == {"S": "active"}
    table.save_job(replace(job, status="failed"))
    assert "active_key" not in resources.dynamodb.get_item(TableName=TABLE, Key=key)["Item"]


def test_a_vote_is_one_per_person_per_render_and_a_new_one_replaces_it(store):
    from bot.conversation.feedback import vote_on

    spec = a_job().spec
    store.record_feedback(vote_on("job-1", spec, user="U1", vote="up", now=10.0))
    store.record_feedback(vote_on("job-1", spec, user="U1", vote="down", now=11.0))
    store.record_feedback(vote_on("job-1", spec, user="U2", vote="up", now=12.0))
    votes = sorted((f.user, f.vote, f.parameters["seed"]) for f in store.feedback_since(0.0))
    assert votes == [("U1", "down", 1), ("U2", "up", 1)]
    assert [f.user for f in store.feedback_since(11.5)] == ["U2"]
