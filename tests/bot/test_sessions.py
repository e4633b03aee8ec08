"""The conversation's rules: drafts, who may render, and how a job moves."""

import pytest

from bot.sessions import (
    DraftOptions,
    InvalidTransition,
    NoDraft,
    NotAllowed,
    advance,
    new_draft,
    plan_job,
    set_draft,
    start_session,
)
from processing_job.spec import SpecError


def session(**changes):
    return start_session(channel="C1", thread_ts="1700000000.000100", owner="UOWNER", idea="a fox", now=0)


def draft(**options):
    return new_draft(
        DraftOptions(**options), prompt="A fox in snow.", default_model="cogvideox-2b", seed=5, refined_by="x"
    )


def test_a_new_draft_takes_the_models_defaults():
    d = draft()
    assert (d.model, d.num_frames, d.num_inference_steps, d.guidance_scale, d.seed) == (
        "cogvideox-2b",
        49,
        50,
        6.0,
        5,
    )


def test_seconds_become_the_nearest_allowed_frame_count():
    assert draft(seconds=3).num_frames == 25
    assert draft(seconds=60).num_frames == 49


def test_a_draft_preview_uses_fewer_steps():
    assert draft(speed="draft").num_inference_steps < draft().num_inference_steps


def test_each_new_draft_gets_the_next_revision():
    s = set_draft(session(), draft(), now=1)
    s = set_draft(s, draft(), now=2)
    assert s.draft.revision == 2


def test_an_impossible_draft_is_refused_with_the_reason():
    with pytest.raises(SpecError, match="8N\\+1 frames"):
        set_draft(session(), draft(num_frames=50), now=1)


def test_only_the_owner_or_an_admin_may_render():
    s = set_draft(session(), draft(), now=1)
    with pytest.raises(NotAllowed, match="Only <@UOWNER>"):
        plan_job(s, user="USTRANGER", admins=frozenset(), now=2)
    assert plan_job(s, user="UADMIN", admins=frozenset({"UADMIN"}), now=2).owner == "UOWNER"


def test_rendering_needs_a_draft():
    with pytest.raises(NoDraft):
        plan_job(session(), user="UOWNER", admins=frozenset(), now=2)


def test_the_same_draft_always_plans_the_same_job():
    s = set_draft(session(), draft(), now=1)
    first = plan_job(s, user="UOWNER", admins=frozenset(), now=2)
    again = plan_job(s, user="UOWNER", admins=frozenset(), now=3)
    assert first.job_id == again.job_id
    assert first.spec["seed"] == 5 and first.spec["model"] == "cogvideox-2b"


def test_a_job_moves_forward_only():
    s = set_draft(session(), draft(), now=1)
    job = plan_job(s, user="UOWNER", admins=frozenset(), now=2)
    job = advance(job, "rendering", now=3)
    job = advance(job, "delivering", now=4)
    job = advance(job, "delivered", now=5)
    assert (job.started_at, job.finished_at) == (3, 5)
    with pytest.raises(InvalidTransition):
        advance(job, "delivering", now=6)
