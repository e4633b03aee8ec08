"""No room on SageMaker: the render waits in the capacity queue, the person sees their place in line,
and it starts when the dispatcher finds room. Nothing is dropped; a cancelled render is let go."""

from __future__ import annotations

from bot.slack.blocks import CANCEL_JOB, GENERATE
from tests.aws.conftest import job_id_of, open_thread
from tests.conftest import CHANNEL


def progress_text(slack, root):
    messages = slack.thread(CHANNEL, root.ts)
    return next((m.text for m in messages if CANCEL_JOB in m.action_ids() or "🛑" in m.text), "")


def wait_in_line(deployed, person, idea):
    root = open_thread(person, idea)
    person.click(person.draft_card(root), GENERATE)
    deployed.slack.wait_until(
        lambda: "in line" in progress_text(deployed.slack, root), what="the place in line"
    )
    return root, job_id_of(root)


def test_no_capacity_puts_the_render_in_line_and_says_its_place(deployed, alice, slack):
    deployed.refuse_capacity(times=1)
    root, job_id = wait_in_line(deployed, alice, "a fox")
    assert "⏳ You're next in line; I'll start it when a slot frees." in progress_text(slack, root)
    assert deployed.aws.sagemaker_jobs() == {}
    assert deployed.services.store.get_job(job_id).status == "queued"


def test_the_render_starts_once_capacity_is_free(deployed, alice, slack):
    deployed.refuse_capacity(times=1)
    root, job_id = wait_in_line(deployed, alice, "a fox")
    answer = deployed.dispatch(deployed.waiting_messages())
    assert answer == {"batchItemFailures": []}
    deployed.processing_job(job_id)
    assert "Starting the renderer" in progress_text(slack, root)
    deployed.finish(job_id, "Completed")
    assert [f.thread_ts for f in slack.files if f.thread_ts] == [root.ts]


def test_a_render_still_without_room_goes_back_in_line(deployed, alice, slack):
    deployed.refuse_capacity(times=2)
    _, job_id = wait_in_line(deployed, alice, "a fox")
    batch = deployed.waiting_messages()
    answer = deployed.dispatch(batch)
    assert answer == {"batchItemFailures": [{"itemIdentifier": batch["Records"][0]["messageId"]}]}
    assert deployed.aws.sagemaker_jobs() == {}
    again = deployed.waiting_messages()  # the same message, received a second time
    assert again["Records"][0]["attributes"]["ApproximateReceiveCount"] == "2"
    assert deployed.dispatch(again) == {"batchItemFailures": []}
    deployed.processing_job(job_id)


def test_renders_waiting_together_see_their_own_places(deployed, alice, bob, slack):
    deployed.refuse_capacity(times=2)
    first, _ = wait_in_line(deployed, alice, "a fox")
    second, _ = wait_in_line(deployed, bob, "an owl")
    assert "You're next in line" in progress_text(slack, first)
    assert "You're 2nd in line" in progress_text(slack, second)


def test_a_render_cancelled_while_waiting_ends_and_is_never_started(deployed, alice, slack):
    deployed.refuse_capacity(times=1)
    root, job_id = wait_in_line(deployed, alice, "a fox")
    message = next(m for m in slack.thread(CHANNEL, root.ts) if CANCEL_JOB in m.action_ids())
    alice.click(message, CANCEL_JOB)
    slack.wait_until(
        lambda: "🛑 Render cancelled." in slack.thread_transcript(CHANNEL, root.ts), what="cancelled"
    )
    assert deployed.dispatch(deployed.waiting_messages()) == {"batchItemFailures": []}
    assert deployed.aws.sagemaker_jobs() == {}
    assert deployed.services.store.get_job(job_id).status == "cancelled"
