"""Slack's Web API failing at each step of the flow, one call at a time: every request still ends in a
video or an explanation in its thread, and nothing happens twice.

The steps are the Web API calls a request makes on its way (`STEPS`, checked against a clean run). At
each one Slack answers 429 or a 5xx once, or keeps answering 500 until the client's retries are
spent (slack_sdk retries a 5xx twice; the video upload tries four times).
"""

from __future__ import annotations

import pytest

from localslack import UPLOAD_URL
from tests.reliability.flows import record, run_request

# (method, which call of it), in the order one request makes them.
STEPS = {
    ("auth.test", 0): "auth.test (the ack's first call)",
    ("chat.postMessage", 0): "chat.postMessage (root message)",
    ("assistant.threads.setStatus", 0): "assistant.threads.setStatus (writing the prompt…)",
    ("chat.startStream", 0): "chat.startStream (prompt)",
    ("chat.stopStream", 0): "chat.stopStream (draft card)",
    ("assistant.threads.setStatus", 1): "assistant.threads.setStatus (cleared)",
    ("chat.update", 0): "chat.update (card closed)",
    ("chat.postMessage", 1): "chat.postMessage (progress)",
    ("files.getUploadURLExternal", 0): "files.getUploadURLExternal",
    (UPLOAD_URL, 0): "upload URL (the video's bytes)",
    ("files.completeUploadExternal", 0): "files.completeUploadExternal",
    ("chat.postMessage", 2): "chat.postMessage (result controls, under the video)",
    ("chat.delete", 0): "chat.delete (the finished progress message)",
    ("views.publish", 0): "views.publish (the owner's Home tab follows)",
}
FAULTS = {
    "HTTP 429 once": {"retry_after": 0},
    "HTTP 503 once": {"status": 503},
    "HTTP 500 until retries run out": {"status": 500},
}
ATTEMPTS = {UPLOAD_URL: 4}  # how often the client tries a call; slack_sdk's Web API calls: 3


def test_the_steps_are_the_calls_a_request_makes(deployed, alice, slack):
    assert run_request(deployed, alice).outcome == "video"
    made: list[tuple[str, int]] = []
    for call in slack.api_calls:
        made.append((call.method, sum(1 for m, _ in made if m == call.method)))
    assert made == [step for step in STEPS if step[0] != UPLOAD_URL]


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize(("method", "index"), list(STEPS), ids=[f"{m}#{i}" for m, i in STEPS])
def test_a_slack_fault_at_each_step_loses_and_repeats_nothing(
    deployed, alice, slack, ledger, method, index, fault
):
    options = dict(FAULTS[fault])
    if fault.endswith("run out"):
        options["times"] = ATTEMPTS.get(method, 3)
    injected = slack.inject(method, after=index, **options)
    result = record(ledger, "Slack Web API", fault, STEPS[method, index], run_request(deployed, alice))
    assert injected.remaining == 0, "the flow never reached the fault"
    assert result.outcome != "lost"
    assert result.duplicates == 0
