"""Exactly once, as people see it: duplicate SageMaker events, Slack's retries and Lambda's repeated
asynchronous invocations never start a second render or post a second video."""

from __future__ import annotations

import re
import threading

from bot.slack.blocks import GENERATE
from tests.aws.conftest import generate, job_id_of, open_thread, refine_once
from tests.conftest import CHANNEL, roots


def videos(slack, root):
    return [f for f in slack.files if f.thread_ts == root.ts]


def draft_cards(slack, root):
    """The draft revisions the thread has seen (each card says "Draft N")."""
    return sorted({int(n) for n in re.findall(r"Draft (\d+)", slack.thread_transcript(CHANNEL, root.ts))})


def test_a_repeated_completed_event_posts_one_video(deployed, alice, slack):
    root, job_id = generate(deployed, alice, "a fox")
    deployed.finish(job_id, "Completed")
    deployed.deliver(deployed.state_change(job_id, "Completed"))
    assert len(videos(slack, root)) == 1
    assert len(slack.calls("files.completeUploadExternal")) == 1


def test_two_completed_events_at_once_post_one_video(deployed, alice, slack):
    root, job_id = generate(deployed, alice, "a fox")
    deployed.write_outputs(job_id)
    deployed.set_status(job_id, "Completed")
    event = deployed.state_change(job_id, "Completed")
    threads = [threading.Thread(target=deployed.deliver, args=(event,)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(videos(slack, root)) == 1


def test_a_late_failure_after_delivery_changes_nothing(deployed, alice, slack):
    root, job_id = generate(deployed, alice, "a fox")
    deployed.finish(job_id, "Completed")
    deployed.deliver(deployed.state_change(job_id, "Failed", FailureReason="late"))
    assert "didn't finish" not in slack.thread_transcript(CHANNEL, root.ts)
    assert deployed.services.store.get_job(job_id).status == "delivered"


def test_a_slack_retry_of_a_reply_refines_the_prompt_once(deployed, alice, slack):
    root, delivery = refine_once(deployed, alice, "a fox")
    assert slack.retry(delivery, retry_num=1, retry_reason="http_timeout").status == 200
    assert slack.retry(delivery, retry_num=2, retry_reason="http_timeout").status == 200
    deployed.lam.wait_idle()
    assert draft_cards(slack, root) == [1, 2]


def test_a_lazy_listener_invoked_twice_opens_one_thread(deployed, alice, slack):
    deployed.lam.repeat = 2  # Lambda retries each asynchronous invocation once
    root = open_thread(alice, "a fox")
    alice.draft_card(root)
    deployed.lam.wait_idle()
    assert len(roots(slack)) == 1
    assert draft_cards(slack, root) == [1]


def test_a_generate_invoked_twice_starts_one_render(deployed, alice, slack):
    root = open_thread(alice, "a fox")
    card = alice.draft_card(root)
    deployed.lam.repeat = 2
    alice.click(card, GENERATE)
    deployed.processing_job(job_id_of(root))
    deployed.lam.wait_idle()
    assert len(deployed.aws.sagemaker_jobs()) == 1
    progress = [m for m in slack.thread(CHANNEL, root.ts) if "renderer" in m.text or "Render" in m.text]
    assert len(progress) == 1


def test_pressing_generate_twice_starts_one_render(deployed, alice, slack):
    root = open_thread(alice, "a fox")
    card = alice.draft_card(root)
    alice.click(card, GENERATE)
    alice.click(card, GENERATE)
    deployed.lam.wait_idle()
    assert list(deployed.aws.sagemaker_jobs()) == [f"videobot-{job_id_of(root)}"]
    assert any("already rendering" in text for text in alice.ephemerals())
