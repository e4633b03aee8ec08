"""A full workspace queues a render instead of refusing it: the person sees their place in line, the
render starts when a slot frees, and a render waiting in line survives a restart."""

from __future__ import annotations

import time

from bot.conversation.sessions import Job
from bot.jobs.delivery import handle_job_event
from bot.jobs.messages import state_change_event
from bot.slack.blocks import CANCEL_JOB, GENERATE, place_in_line
from processing_job.spec import JobSpec
from tests.conftest import BOB, CHANNEL, FAST, limits, seen, thread_text, video_in_thread


def someone_elses_render(job_id: str = "bobs-render") -> Job:
    now = time.time()
    spec = JobSpec.create(job_id=job_id, model="tiny", prompt="A fox.", seed=1, num_frames=9).to_dict()
    return Job(job_id, CHANNEL, "1.000001", BOB, spec, created_at=now, updated_at=now, status="rendering")


def progress_of(slack, root):
    return slack.wait_until(
        lambda: next((m for m in slack.thread(CHANNEL, root.ts) if CANCEL_JOB in m.action_ids()), None),
        what="the progress message",
    )


def generate(alice, text=f"a fox {FAST}"):
    root = alice.video(text)
    alice.click(alice.draft_card(root), GENERATE)
    return root


def test_a_full_workspace_puts_the_render_in_line_instead_of_refusing(slack, start_app, alice):
    services = start_app(limits=limits(workspace_concurrent=1))
    services.store.create_job(someone_elses_render())
    root = generate(alice)
    slack.wait_until(lambda: "next in line" in seen(progress_of(slack, root)), what="the place in line")
    assert "I'll start it when a slot frees" in seen(progress_of(slack, root))
    assert not any("busy right now" in note for note in alice.ephemerals())


def test_the_second_render_waiting_hears_it_is_second_in_line(slack, start_app, alice):
    services = start_app(limits=limits(workspace_concurrent=1, per_user_concurrent=3))
    services.store.create_job(someone_elses_render())
    generate(alice)
    second = generate(alice, f"a cat {FAST}")
    slack.wait_until(
        lambda: "You're 2nd in line; I'll start it when a slot frees." in seen(progress_of(slack, second)),
        what="second in line",
    )


def test_a_waiting_render_starts_when_a_slot_frees_and_is_delivered(slack, start_app, alice):
    services = start_app(limits=limits(workspace_concurrent=1))
    services.store.create_job(someone_elses_render())
    root = generate(alice)
    slack.wait_until(lambda: "in line" in seen(progress_of(slack, root)), what="the place in line")
    handle_job_event(state_change_event("bobs-render", "Stopped"), services)  # Bob's render ends
    video_in_thread(slack, root)
    assert "✅ Done" in thread_text(slack, root)


def test_cancelling_a_waiting_render_ends_it_without_a_renderer(slack, start_app, alice):
    services = start_app(limits=limits(workspace_concurrent=1))
    services.store.create_job(someone_elses_render())
    root = generate(alice)
    progress = slack.wait_until(
        lambda: (m := progress_of(slack, root)) and "in line" in seen(m) and m, what="the place in line"
    )
    alice.click(progress, CANCEL_JOB)
    slack.wait_until(lambda: "Render cancelled" in thread_text(slack, root), what="the cancellation")
    job = services.store.get_job(services.store.get_session(CHANNEL, root.ts).job_ids[0])
    assert job.status == "cancelled"


def test_a_render_waiting_in_line_survives_a_restart_and_starts_when_a_slot_is_free(slack, start_app, alice):
    first = start_app(limits=limits(workspace_concurrent=1))
    first.store.create_job(someone_elses_render())
    root = generate(alice)
    slack.wait_until(lambda: "in line" in seen(progress_of(slack, root)), what="the place in line")
    # The bot goes down; meanwhile Bob's render is over (it is no longer active when the bot is back).
    bobs = first.store.get_job("bobs-render")
    first.store.save_job(Job.from_dict({**bobs.to_dict(), "status": "cancelled"}))
    first.close()
    start_app(limits=limits(workspace_concurrent=1))  # same home: the restarted bot
    video_in_thread(slack, root)


def test_places_in_line_read_as_people_say_them():
    assert place_in_line(1) == "You're next in line; I'll start it when a slot frees."
    assert [place_in_line(n).split()[1] for n in (2, 3, 4, 11, 21, 22)] == [
        "2nd",
        "3rd",
        "4th",
        "11th",
        "21st",
        "22nd",
    ]
