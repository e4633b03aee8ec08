"""The Lambda front door (`bot.aws.handle_slack_request`) against unsigned requests built to break it:
timestamps that `isdigit()` but aren't numbers `int()` reads, bodies nested deeper than JSON parses,
invalid UTF-8, missing headers. Each gets 401 (never a Lambda error, which the Function URL turns into
a 502 and the errors alarm counts), and nothing of it is parsed before the signature is checked."""

from __future__ import annotations

import logging
import time

import bot.aws
from tests.fakes.aws_lambda import LambdaContext, function_url_event
from tests.reliability.ledger import InputCase

FORM = "application/x-www-form-urlencoded"
COMMAND = b"command=%2Fvideo&text=a+fox&user_id=UALICE&channel_id=CVIDEOS"


def unsigned(body: bytes = COMMAND, **headers: str | None) -> tuple[bytes, dict[str, str]]:
    sent = {
        "Content-Type": FORM,
        "X-Slack-Request-Timestamp": str(int(time.time())),
        "X-Slack-Signature": "v0=" + "0" * 64,
        **headers,
    }
    return body, {k: v for k, v in sent.items() if v is not None}


HOSTILE = {
    "a superscript timestamp": unsigned(**{"X-Slack-Request-Timestamp": "²"}),
    "a full-width timestamp": unsigned(**{"X-Slack-Request-Timestamp": "１７"}),
    "Arabic-Indic digits": unsigned(**{"X-Slack-Request-Timestamp": "١٧٠٠٠٠٠٠٠٠"}),
    "a timestamp of 5,000 digits": unsigned(**{"X-Slack-Request-Timestamp": "9" * 5000}),
    "a negative timestamp": unsigned(**{"X-Slack-Request-Timestamp": "-1"}),
    "an empty timestamp": unsigned(**{"X-Slack-Request-Timestamp": ""}),
    "no timestamp": unsigned(**{"X-Slack-Request-Timestamp": None}),
    "no signature": unsigned(**{"X-Slack-Signature": None}),
    "a signature of 10,000 characters": unsigned(**{"X-Slack-Signature": "v0=" + "a" * 10_000}),
    "a non-ASCII signature": unsigned(**{"X-Slack-Signature": "v0=" + "é" * 64}),
    "payload= then 100 KB of [": unsigned(b"payload=" + b"[" * 100_000),
    "JSON nested 100,000 deep": unsigned(
        b'{"event": ' + b"[" * 100_000, **{"Content-Type": "application/json"}
    ),
    "a form nested 100,000 deep": unsigned(b"payload=" + b"%5B" * 100_000),
    "invalid UTF-8": unsigned(b"\xff\xfe\xfd text=\xc3\x28"),
    "1 MB of noise": unsigned(bytes(range(256)) * 4096, **{"Content-Type": "application/octet-stream"}),
    "marked as Bolt's lazy run": unsigned(
        **{"x-slack-bolt-lazy-only": "1", "x-slack-bolt-lazy-function-name": "x"}
    ),
}


def test_hostile_unsigned_requests_to_the_lambda_get_401_never_an_error(deployed, caplog, ledger):
    statuses: dict[str, object] = {}
    with caplog.at_level(logging.INFO):  # a logged line is what made the log keys parse the body
        for name, (body, headers) in HOSTILE.items():
            try:
                statuses[name] = bot.aws.handle_slack_request(
                    function_url_event(body, headers), LambdaContext()
                )["statusCode"]
            except Exception as error:  # a Lambda error: the Function URL answers 502
                statuses[name] = type(error).__name__
    deployed.lam.wait_idle()
    refused = [name for name, status in statuses.items() if status == 401]
    ledger.input(
        InputCase(
            "Access",
            "unsigned requests built to break the Lambda front door (timestamps, nesting, encodings)",
            tried=len(HOSTILE),
            answered=len(refused),
            failures=len(HOSTILE) - len(refused),
            changed=len(deployed.lam.invocations),
            note="401 after one HMAC; nothing of the body parsed before the signature is checked",
        )
    )
    assert {name: s for name, s in statuses.items() if s != 401} == {}
    assert deployed.lam.invocations == []
