"""Renders on the local runner: twenty concurrent Generate clicks launch exactly what the caps allow
(the quota is reserved in one SQLite transaction), and a Cancel is honoured at once, whether the render
is waiting for its turn or its process hasn't started yet."""

from __future__ import annotations

from pathlib import Path

from bot.adapters.blobs.filesystem import FilesystemBlobStore
from bot.conversation.sessions import DraftOptions, new_draft, plan_job, set_draft, start_session
from bot.jobs.launchers.local import LocalJobLauncher
from bot.slack.blocks import CANCEL_JOB, GENERATE
from tests.conftest import ALICE, CHANNEL, message_with, press_together
from tests.reliability.ledger import FaultCase

CLICKS = 20


def test_twenty_concurrent_generate_clicks_launch_what_the_caps_allow(slack, videobot, alice, ledger):
    allowed = videobot.settings.limits.per_user_concurrent
    cards = [alice.draft_card(alice.video(f"fox number {n} --frames 9")) for n in range(CLICKS)]
    assert set(press_together(slack, cards, ALICE)) == {200}
    refused = slack.wait_until(
        lambda: (
            found
            if len(found := [t for t in alice.ephemerals() if "the most one person can run" in t])
            == CLICKS - allowed
            else None
        ),
        what="the refusals",
    )
    launched = slack.wait_until(
        lambda: jobs if len(jobs := videobot.store.jobs_for_owner(ALICE)) >= allowed else None,
        what="the renders",
    )
    ledger.fault(
        FaultCase(
            "Concurrency",
            f"{CLICKS} Generate clicks at once, on {CLICKS} drafts (cap: {allowed} at a time)",
            "reserve the quota (SQLite)",
            requests=CLICKS,
            explained=len(refused),
            lost=CLICKS - len(launched) - len(refused),
            duplicates=max(0, len(launched) - allowed),
        )
    )
    assert len(launched) == allowed
    assert len(refused) == CLICKS - allowed


# ------------------------------------------------------------------------------------------- cancel


def a_job(job_id_suffix: str = ""):
    session = start_session(channel=CHANNEL, thread_ts="1.000001", owner=ALICE, idea="a fox", now=1)
    draft = new_draft(
        DraftOptions(num_frames=9), prompt="A fox.", default_model="tiny", seed=1, refined_by=""
    )
    return plan_job(set_draft(session, draft, now=1), user=ALICE, admins=frozenset(), now=2)


def test_a_cancel_while_the_render_is_being_set_up_stops_it_before_it_renders(
    tmp_path: Path, model_cache, ledger
):
    events: list[dict] = []
    launcher: LocalJobLauncher

    def report(event):
        events.append(event)
        if event["detail"].get("ProcessingJobStatus") == "InProgress":
            # Cancel lands after the folder is ready and before the child process exists.
            launcher.stop(job.job_id)

    launcher = LocalJobLauncher(
        root=tmp_path / "jobs",
        blobs=FilesystemBlobStore(tmp_path / "blobs"),
        report=report,
        model_cache=model_cache,
    )
    job = a_job()
    try:
        launcher.launch(job, job.job_spec)
        launcher.wait_idle(timeout=60)
    finally:
        launcher.shutdown()
    statuses = [e["detail"].get("ProcessingJobStatus") for e in events if e["source"] == "aws.sagemaker"]
    rendered = (tmp_path / "jobs" / job.job_id / "output" / "video.mp4").exists()
    ledger.fault(
        FaultCase(
            "Local runner",
            "Cancel before the render's process exists",
            "cancel",
            explained=int(statuses[-1] == "Stopped"),
            lost=int(statuses[-1] != "Stopped"),
            duplicates=int(rendered),
        )
    )
    assert statuses == ["InProgress", "Stopped"]
    assert not rendered  # stopped, not rendered to the end first


def test_a_cancel_of_a_render_waiting_its_turn_is_answered_at_once(slack, videobot, alice, ledger):
    first = alice.video("a fox --frames 9")
    second = alice.video("an owl --frames 9")
    alice.click(alice.draft_card(first), GENERATE)
    alice.click(alice.draft_card(second), GENERATE)
    waiting = message_with(slack, second, CANCEL_JOB)
    alice.click(waiting, CANCEL_JOB)
    cancelled = slack.wait_until(
        lambda: next((m for m in slack.thread(CHANNEL, second.ts) if m.text.startswith("🛑 Render")), None),
        what="the waiting render cancelled",
    )
    [first_job] = videobot.store.get_session(CHANNEL, first.ts).job_ids
    first_status = videobot.store.get_job(first_job).status
    ledger.fault(
        FaultCase(
            "Local runner",
            "Cancel while waiting behind another render",
            "cancel",
            explained=1,
            lost=0,
            duplicates=0,
        )
    )
    assert "cancelled" in cancelled.text
    assert first_status in ("queued", "rendering")  # told while the render ahead was still going
    alice.click(message_with(slack, first, CANCEL_JOB), CANCEL_JOB)  # no need to wait for it
