"""Slack under pressure, on the AWS backends: a 429 is waited out, a forged request is refused."""

from __future__ import annotations

import base64
import contextlib
import time
from urllib.parse import urlencode

import pytest
from slack_sdk.signature import SignatureVerifier

import bot.aws
from bot.chat import ChatError
from bot.localslack import UPLOAD_URL
from tests.aws.conftest import SIGNING_SECRET, VIDEO, generate, open_thread
from tests.bot.conftest import ALICE, CHANNEL, roots
from tests.fakes.aws_lambda import LambdaContext, function_url_event


def test_a_rate_limited_post_is_waited_out(deployed, alice, slack):
    slack.inject("chat.postMessage", retry_after=1)
    root = open_thread(alice, "a fox")
    alice.draft_card(root)
    statuses = [c.status for c in slack.calls("chat.postMessage")]
    assert statuses[0] == 429 and 200 in statuses


def test_a_rate_limited_upload_still_delivers_the_video(deployed, alice, slack):
    root, job_id = generate(deployed, alice, "a fox")
    slack.inject(UPLOAD_URL, retry_after=1)
    slack.inject("files.completeUploadExternal", retry_after=1)
    deployed.finish(job_id, "Completed")
    video = next(f for f in slack.files if f.thread_ts == root.ts)
    assert video.path.read_bytes() == VIDEO
    assert [c.status for c in slack.calls("files.completeUploadExternal")] == [429, 200]


def test_an_upload_slack_keeps_refusing_is_delivered_by_the_next_try(deployed, alice, slack):
    root, job_id = generate(deployed, alice, "a fox")
    slack.inject(UPLOAD_URL, retry_after=0, times=4)  # every attempt of the first delivery fails
    with contextlib.suppress(ChatError):  # the job-events Lambda fails; EventBridge tries again
        deployed.finish(job_id, "Completed")
    assert not [f for f in slack.files if f.thread_ts]
    deployed.deliver(deployed.state_change(job_id, "Completed"))
    assert [f.thread_ts for f in slack.files if f.thread_ts] == [root.ts]


def test_a_request_not_signed_by_slack_is_refused(deployed, slack):
    body = urlencode({"command": "/video", "text": "a fox", "user_id": ALICE, "channel_id": CHANNEL}).encode()
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": str(int(time.time())),
        "X-Slack-Signature": "v0=" + "0" * 64,
    }
    answer = bot.aws.handle_slack_request(function_url_event(body, headers), LambdaContext())
    assert answer["statusCode"] == 401
    deployed.lam.wait_idle()
    assert deployed.lam.invocations == []
    assert roots(slack) == []


NOW = "now"


@pytest.mark.parametrize(
    ("body", "content_type", "timestamp"),
    [
        (b'payload={"channel":"C1","user":[1],"actions":{"0":1}}', "application/x-www-form-urlencoded", NOW),
        (b"payload=%7Bnot-json", "application/x-www-form-urlencoded", NOW),
        (b'{"event": "not an object", "event_id": 7}', "application/json", NOW),
        (b"\xff\xfe", "application/octet-stream", NOW),
        (b"text=hi", "application/x-www-form-urlencoded", "yesterday"),
    ],
)
def test_a_garbled_unsigned_request_gets_401_not_an_error(deployed, body, content_type, timestamp):
    stamp = str(int(time.time())) if timestamp == NOW else timestamp
    headers = {"Content-Type": content_type, "X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": "v0=00"}
    answer = bot.aws.handle_slack_request(function_url_event(body, headers), LambdaContext())
    assert answer["statusCode"] == 401


def test_a_request_signed_more_than_five_minutes_ago_is_refused(deployed, slack):
    body = urlencode({"command": "/video", "text": "a fox", "user_id": ALICE, "channel_id": CHANNEL}).encode()
    answer = slack.signed_post(body, "application/x-www-form-urlencoded", timestamp=int(time.time()) - 6 * 60)
    assert answer.status == 401
    deployed.lam.wait_idle()
    assert deployed.lam.invocations == []


def test_a_lazy_listener_retried_by_lambda_after_slacks_signature_window_still_runs(deployed, alice, slack):
    deployed.lam.hold = True  # the first attempt is lost (throttled, crashed); Lambda retries it later
    answer = slack.slash_command("/video", "a fox", user=ALICE, channel=CHANNEL)
    assert answer.status == 200
    [invocation] = deployed.lam.invocations
    # Twenty minutes on, Lambda retries it: Slack's signature is as old as the request.
    then = str(int(time.time()) - 20 * 60)
    body = base64.b64decode(invocation["body"])
    invocation["headers"]["x-slack-request-timestamp"] = then
    invocation["headers"]["x-slack-signature"] = SignatureVerifier(SIGNING_SECRET).generate_signature(
        timestamp=then, body=body
    )
    bot.aws.handle_slack_request(invocation, LambdaContext())
    root = slack.wait_until(lambda: roots(slack)[-1], what="the thread")
    alice.draft_card(root)


def test_a_replayed_request_marked_lazy_only_gets_no_second_run(deployed, alice, slack):
    root = open_thread(alice, "a fox")
    alice.draft_card(root)
    deployed.lam.wait_idle()
    command = next(d for d in slack.deliveries if d.kind == "slash_command")
    listener = deployed.lam.invocations[0]["headers"]["x-slack-bolt-lazy-function-name"]
    marks = {"x-slack-bolt-lazy-only": "1", "x-slack-bolt-lazy-function-name": listener}
    slack.signed_post(command.request_body, command.content_type, headers=marks)  # within the 5 minutes
    deployed.lam.wait_idle()
    assert len(roots(slack)) == 1


DEEP = b"payload=" + b"[" * 100_000


@pytest.mark.parametrize(
    ("body", "timestamp"),
    [
        (b"command=%2Fvideo&text=hi", "\u00b2"),  # a superscript two: isdigit(), but not a number to int()
        (b"command=%2Fvideo&text=hi", "\uff11\uff17"),  # full-width digits
        (b"command=%2Fvideo&text=hi", "9" * 5000),  # more digits than int() will read
        (DEEP, "now"),  # 100 KB of '[' after payload=: deeper than JSON can parse
        (b'{"event": ' + b"[" * 100_000, "now"),
    ],
    ids=["superscript", "full-width", "5000-digits", "deep-payload", "deep-json"],
)
def test_an_unsigned_request_with_a_hostile_timestamp_or_body_gets_401(deployed, caplog, body, timestamp):
    stamp = str(int(time.time())) if timestamp == NOW else timestamp
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": "v0=" + "0" * 64,
    }
    with caplog.at_level("INFO"):  # a logged line is what made the log keys parse the body
        answer = bot.aws.handle_slack_request(function_url_event(body, headers), LambdaContext())
    assert answer["statusCode"] == 401
