"""Quotas counted from the jobs in the store: who may render now, and what each refusal says."""

from __future__ import annotations

from dataclasses import replace

from bot.conversation.limits import Limits
from bot.conversation.quotas import (
    DAY_S,
    access_refusal,
    render_refusal,
    usage,
)
from bot.conversation.requests import limit_problems, within_limits
from bot.conversation.sessions import DraftOptions, Job, new_draft

NOW = 1_800_000_000.0


def job(owner="UA", status="delivered", created_at=NOW - 60, job_id="j"):
    return Job(job_id, "C1", "1.0", owner, {}, created_at=created_at, updated_at=created_at, status=status)


def test_failed_and_cancelled_renders_give_their_quota_back():
    mine = [job(status="failed"), job(status="cancelled"), job(status="delivered")]
    assert usage("UA", mine, [], now=NOW).last_day == 1


def test_renders_older_than_a_day_no_longer_count():
    mine = [job(created_at=NOW - DAY_S - 1), job(created_at=NOW - 10)]
    assert usage("UA", mine, [], now=NOW).last_day == 1


def test_the_daily_cap_frees_up_a_day_after_the_oldest_render_that_counts():
    mine = [job(created_at=NOW - 100), job(created_at=NOW - 50)]
    current = usage("UA", mine, [], now=NOW)
    refusal = render_refusal(replace(Limits(), per_user_daily=2), current)
    assert current.next_free_at == NOW - 100 + DAY_S
    assert f"<!date^{int(NOW - 100 + DAY_S)}^" in refusal and "don't count" in refusal


def test_the_personal_cap_counts_only_my_active_renders():
    active = [job(owner="UA", status="rendering"), job(owner="UB", status="queued")]
    current = usage("UA", [], active, now=NOW)
    assert (current.running, current.workspace_running) == (1, 2)
    assert "most one person can run at once" in render_refusal(
        replace(Limits(), per_user_concurrent=1), current
    )


def test_a_full_workspace_is_no_refusal_for_a_render_that_waits_for_a_slot():
    current = usage("UA", [], [job(owner="UB", status="rendering")], now=NOW)
    one_slot = replace(Limits(), workspace_concurrent=1)
    assert render_refusal(one_slot, current, queue_when_full=True) is None
    assert render_refusal(one_slot, current) == (
        "The render slot for this workspace is busy right now. "
        "Please try again when one finishes, usually within a few minutes."
    )


def test_allow_lists_refuse_with_the_reason():
    limits = replace(Limits(), allowed_users=frozenset({"UB"}), allowed_channels=frozenset({"C2"}))
    assert "isn't open to you" in access_refusal(limits, user="UA", channel="C2")
    assert "You can ask me in <#C2>." in access_refusal(limits, user="UB", channel="C1")
    assert access_refusal(Limits(), user="UA", channel="C1") is None


def test_defaults_are_brought_within_the_caps_and_explicit_asks_are_explained():
    limits = replace(Limits(), max_seconds=2.0, max_steps=20)
    draft = new_draft(DraftOptions(), prompt="p", default_model="cogvideox-2b", seed=1, refined_by="")
    assert len(limit_problems(draft, limits)) == 2
    fitted = within_limits(draft, limits)
    assert (fitted.num_frames, fitted.num_inference_steps) == (17, 20)
    assert limit_problems(fitted, limits) == []
