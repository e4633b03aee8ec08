"""The session store's reservation and claims keep the same promises on DynamoDB (moto's server) and on
its SQLite twin: a render is written only within the caps, a double click is a conflict rather than a
quota refusal, renders that failed or were cancelled give their quota back, and a claim is granted once
until it expires."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.conversation.limits import Limits
from bot.conversation.ports import Conflict, QuotaExceeded
from bot.conversation.quotas import admission
from bot.conversation.sessions import DraftOptions, new_draft, plan_job, set_draft, start_session

NOW = 1_800_000_000.0


def a_job(n: int, owner: str = "U1", created_at: float = NOW):
    session = start_session(channel="C1", thread_ts=f"1.{n:06d}", owner=owner, idea="a fox", now=created_at)
    draft = new_draft(DraftOptions(), prompt="A fox.", default_model="tiny", seed=1, refined_by="x")
    return plan_job(set_draft(session, draft, now=created_at), user=owner, admins=frozenset(), now=created_at)


def check(limits: Limits, owner: str = "U1"):
    return admission(limits, owner, now=NOW)


def test_a_render_over_the_cap_is_refused_with_the_reason_and_not_written(store):
    caps = Limits(per_user_concurrent=1)
    store.reserve_job(a_job(1), check(caps))
    with pytest.raises(QuotaExceeded, match="the most one person can run at once"):
        store.reserve_job(a_job(2), check(caps))
    assert store.get_job(a_job(2).job_id) is None


def test_a_second_click_on_the_same_draft_is_a_conflict_not_a_quota_refusal(store):
    caps = Limits(per_user_concurrent=1)
    store.reserve_job(a_job(1), check(caps))
    with pytest.raises(Conflict):
        store.reserve_job(a_job(1), check(caps))


def test_failed_and_cancelled_renders_give_their_quota_back(store):
    caps = Limits(per_user_concurrent=1, per_user_daily=1)
    for n, ending in ((1, "failed"), (2, "cancelled")):
        job = store.reserve_job(a_job(n), check(caps))
        store.save_job(replace(job, status=ending))
    third = store.reserve_job(a_job(3), check(caps))  # neither counted
    store.save_job(replace(third, status="delivered"))
    with pytest.raises(QuotaExceeded, match="daily limit"):
        store.reserve_job(a_job(4), check(caps))


def test_renders_written_before_reservations_existed_still_count(store):
    store.create_job(a_job(1))  # e.g. made by an older version of the bot
    with pytest.raises(QuotaExceeded):
        store.reserve_job(a_job(2), check(Limits(per_user_concurrent=1)))


def test_the_workspace_cap_counts_everyones_renders(store):
    caps = Limits(workspace_concurrent=2)
    store.reserve_job(a_job(1, owner="U1"), check(caps, "U1"))
    store.reserve_job(a_job(2, owner="U2"), check(caps, "U2"))
    with pytest.raises(QuotaExceeded, match="render slots for this workspace are busy"):
        store.reserve_job(a_job(3, owner="U3"), check(caps, "U3"))


def test_a_claim_is_granted_once_until_it_expires(store):
    assert store.claim_once("sig-1", expires_at=NOW + 360, now=NOW) is True
    assert store.claim_once("sig-1", expires_at=NOW + 360, now=NOW + 10) is False
    assert store.claim_once("sig-2", expires_at=NOW + 360, now=NOW + 10) is True
    assert store.claim_once("sig-1", expires_at=NOW + 800, now=NOW + 400) is True
