"""The deployed bot (tests/aws): the real Lambda handlers, moto's server, the Slack stand-in."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.aws.conftest import (  # noqa: F401 - fixtures
    Deployment,
    alice,
    aws,
    bob,
    deployed,
    lambda_env,
    moto_server,
    resources,
    slack,
    store,
)
from tests.reliability.flows import AwsFaults, LambdaDied


@pytest.fixture
def faults(deployed: Deployment) -> AwsFaults:  # noqa: F811 - the fixture imported above
    return AwsFaults(deployed.resources.dynamodb)


class _Hurried:
    """The time module, with sleeps 50 times shorter: back-off waits keep their order and count."""

    def __init__(self, real: Any) -> None:
        self._real = real

    def sleep(self, seconds: float) -> None:
        self._real.sleep(seconds / 50)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


@pytest.fixture(autouse=True)
def hurried_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """slack_sdk's and botocore's retry handlers and the video upload's retries wait out 429s and 5xx
    answers for real seconds; a hundred injected faults would spend minutes waiting. Same retries, in
    the same order, with shorter waits."""
    import botocore.endpoint
    import slack_sdk.http_retry.builtin_handlers
    import slack_sdk.http_retry.handler

    import bot.slack.chat

    retrying = (slack_sdk.http_retry.builtin_handlers, slack_sdk.http_retry.handler)
    for module in (*retrying, bot.slack.chat, botocore.endpoint):
        monkeypatch.setattr(module, "time", _Hurried(time))


@pytest.fixture(autouse=True)
def lambda_failures(deployed: Deployment, slack: Any) -> list[dict[str, Any]]:  # noqa: F811
    """What Lambda does when a function dies: a Function URL answers Slack 502 (Bad Gateway); an
    asynchronous invocation (a lazy listener), which this function's configuration never retries, is
    put on the function's dead-letter queue (returned here; `flows.deliver_dead_letters` reads it)."""
    dead_letters: list[dict[str, Any]] = []
    handler = deployed.lam.handler

    def invoke(event: dict[str, Any], context: Any) -> Any:
        try:
            return handler(event, context)
        except LambdaDied:
            dead_letters.append(event)
            return None

    def function_url(body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        try:
            return deployed.function_url(body, headers)
        except LambdaDied:
            return 502, {}, b"Internal Server Error"

    deployed.lam.handler = invoke
    slack.connect_app(function_url)
    deployed.dead_letters = dead_letters
    return dead_letters
