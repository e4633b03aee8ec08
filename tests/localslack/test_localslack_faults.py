"""Injected faults, against slack_sdk's real retry handlers."""

from __future__ import annotations

import time

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator

from tests.localslack.constants import GENERAL

QUICK = FixedValueRetryIntervalCalculator(fixed_internal=0.01)


def test_an_injected_429_is_waited_out_by_the_rate_limit_retry_handler(slack):
    fault = slack.inject("chat.postMessage", retry_after=1)
    client = WebClient(
        token=slack.bot_token, base_url=slack.api_url, retry_handlers=[RateLimitErrorRetryHandler()]
    )
    started = time.monotonic()
    posted = client.chat_postMessage(channel=GENERAL, text="eventually")
    waited = time.monotonic() - started

    assert posted["ok"] and waited >= 1.0
    assert [(c.status, c.injected) for c in slack.calls("chat.postMessage")] == [(429, True), (200, False)]
    assert fault.remaining == 0 and [m.text for m in slack.messages(GENERAL)] == ["eventually"]


def test_an_injected_500_surfaces_as_slack_api_error_without_a_retry_handler(slack):
    slack.inject("chat.update", status=500)
    client = WebClient(token=slack.bot_token, base_url=slack.api_url, retry_handlers=[])
    with pytest.raises(SlackApiError) as caught:
        client.chat_update(channel=GENERAL, ts="1.000001", text="x")
    assert caught.value.response.status_code == 500
    assert len(slack.calls("chat.update")) == 1


def test_an_injected_500_is_retried_by_the_server_error_retry_handler(slack):
    slack.inject("chat.postMessage", status=500)
    handler = ServerErrorRetryHandler(max_retry_count=1, interval_calculator=QUICK)
    client = WebClient(token=slack.bot_token, base_url=slack.api_url, retry_handlers=[handler])
    assert client.chat_postMessage(channel=GENERAL, text="second try")["ok"]
    assert [c.status for c in slack.calls("chat.postMessage")] == [500, 200]


def test_an_injected_error_answers_ok_false_with_http_200(slack):
    slack.inject("chat.postMessage", error="is_archived", times=2)
    client = slack.client()
    for _ in range(2):
        with pytest.raises(SlackApiError) as caught:
            client.chat_postMessage(channel=GENERAL, text="x")
        assert (caught.value.response.status_code, caught.value.response["error"]) == (200, "is_archived")
    assert client.chat_postMessage(channel=GENERAL, text="x")["ok"]


def test_a_dropped_connection_is_retried_by_the_connection_error_handler(slack):
    slack.inject("auth.test", disconnect=True)
    handler = ConnectionErrorRetryHandler(max_retry_count=1, interval_calculator=QUICK)
    client = WebClient(token=slack.bot_token, base_url=slack.api_url, retry_handlers=[handler])
    assert client.auth_test()["ok"]


def test_a_rate_limit_answers_429_with_retry_after_once_the_window_is_full(slack):
    slack.rate_limit("chat.update", calls=2, per_seconds=30)
    client = WebClient(token=slack.bot_token, base_url=slack.api_url, retry_handlers=[])
    posted = client.chat_postMessage(channel=GENERAL, text="x")
    for _ in range(2):
        client.chat_update(channel=GENERAL, ts=posted["ts"], text="y")
    with pytest.raises(SlackApiError) as caught:
        client.chat_update(channel=GENERAL, ts=posted["ts"], text="z")
    assert caught.value.response.status_code == 429
    assert 1 <= int(caught.value.response.headers["Retry-After"]) <= 30
