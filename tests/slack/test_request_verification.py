"""Only Slack can talk to the app: a request without Slack's signature is refused and changes nothing."""

from __future__ import annotations

import time
from urllib.parse import urlencode

import pytest
from slack_sdk.signature import SignatureVerifier

from tests.conftest import ALICE, CHANNEL, SECRET, roots

COMMAND = urlencode(
    {"command": "/video", "text": "a fox", "user_id": ALICE, "channel_id": CHANNEL, "team_id": "TLOCAL"}
).encode()
FORM = "application/x-www-form-urlencoded"


def assert_nothing_happened(slack, videobot):
    time.sleep(0.3)  # give a wrongly accepted request time to show up
    assert roots(slack) == []
    assert not [c for c in slack.api_calls if c.method == "chat.postMessage"]


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Slack-Signature": ""},
        {"X-Slack-Signature": "v0=" + "0" * 64},
    ],
    ids=["unsigned", "forged"],
)
def test_a_request_without_slacks_signature_gets_401(slack, videobot, headers):
    response = slack.signed_post(COMMAND, FORM, headers=headers)
    assert response.status == 401
    assert_nothing_happened(slack, videobot)


def test_a_request_signed_more_than_five_minutes_ago_gets_401(slack, videobot):
    response = slack.signed_post(COMMAND, FORM, timestamp=int(time.time()) - 6 * 60)
    assert response.status == 401
    assert_nothing_happened(slack, videobot)


def test_a_body_changed_after_signing_gets_401(slack, videobot):
    timestamp = str(int(time.time()))
    signature = SignatureVerifier(SECRET).generate_signature(timestamp=timestamp, body=b"text=hello")
    response = slack.signed_post(COMMAND, FORM, timestamp=timestamp, signature=signature)
    assert response.status == 401
    assert_nothing_happened(slack, videobot)


def test_a_properly_signed_request_is_accepted(slack, videobot):
    assert slack.signed_post(COMMAND, FORM).status == 200
