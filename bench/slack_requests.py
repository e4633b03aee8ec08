"""Slack's requests as Slack signs them, produced by the stand-in and caught before they are sent.

The stand-in builds each body exactly as Slack would (a fresh trigger id, event id and timestamp, a
signature made now), so every timed request is new to the app; `Catcher` takes it instead of a URL.
`through(handler)` instead delivers requests to a Lambda handler as Function URL events, for the
set-up steps that must really happen (opening a thread with a draft card to click).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bench.deployment import ALICE, CHANNEL
from localslack import Message, SlackStandIn
from tests.fakes.aws_lambda import LambdaContext, function_url_event

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
# Requests the bot acts on, and one it ignores (a message in the channel, outside any session).
ACTED_ON = ("/video command", "thread reply", "button click")
IGNORED = ("channel chatter",)
KINDS = ACTED_ON + IGNORED


@dataclass(frozen=True)
class SlackRequest:
    kind: str
    body: bytes
    headers: dict[str, str]

    def event(self) -> dict[str, Any]:
        """A new Function URL event (Bolt's adapter writes into the event it is given)."""
        return function_url_event(self.body, self.headers)


class Catcher:
    """A transport for the stand-in that keeps the request and answers an empty 200."""

    def __init__(self) -> None:
        self.caught: list[tuple[bytes, dict[str, str]]] = []

    def __call__(self, body: bytes, headers: dict[str, str]) -> tuple[int, Mapping[str, str], bytes]:
        self.caught.append((body, headers))
        return 200, {}, b""


def through(handler: Handler) -> Callable[[bytes, dict[str, str]], tuple[int, Mapping[str, str], bytes]]:
    def send(body: bytes, headers: dict[str, str]) -> tuple[int, Mapping[str, str], bytes]:
        answer = handler(function_url_event(body, headers), LambdaContext())
        raw = answer.get("body") or ""
        return (
            answer["statusCode"],
            dict(answer.get("headers") or {}),
            raw.encode() if isinstance(raw, str) else raw,
        )

    return send


class RequestMaker:
    """New signed requests of each kind, aimed at one session thread and its draft card."""

    def __init__(self, slack: SlackStandIn, root: Message, draft_card: Message) -> None:
        self.slack, self.root, self.draft_card = slack, root, draft_card
        self._catcher = Catcher()

    def make(self, kind: str) -> SlackRequest:
        from bot.slack.blocks import GENERATE

        self.slack.connect_app(self._catcher)
        if kind == "/video command":
            self.slack.slash_command(
                "/video", "a corgi surfing at sunset --draft", user=ALICE, channel=CHANNEL
            )
        elif kind == "thread reply":
            self.slack.say(CHANNEL, "make it night, with a slower camera", user=ALICE, thread_ts=self.root.ts)
        elif kind == "button click":
            self.slack.click(self.draft_card, GENERATE, user=ALICE)
        elif kind == "channel chatter":
            self.slack.say(CHANNEL, "anyone up for lunch at noon?", user=ALICE)
        else:
            raise ValueError(kind)
        body, headers = self._catcher.caught.pop()
        return SlackRequest(kind, body, headers)


def open_session(
    slack: SlackStandIn, handler: Handler, run_lazy: Callable[[], None]
) -> tuple[Message, Message]:
    """`/video` through the bot, its lazy listener run as Lambda would: the thread root and draft card."""
    from bot.slack.blocks import GENERATE

    slack.connect_app(through(handler))
    answer = slack.slash_command("/video", "a red fox running through snow", user=ALICE, channel=CHANNEL)
    if answer.status != 200:
        raise RuntimeError(f"/video answered {answer.status}: {answer.text}")
    run_lazy()

    def card() -> tuple[Message, Message] | None:
        for message in slack.messages(CHANNEL):
            if message.bot_id and message.thread_ts in (None, message.ts):
                for reply in slack.thread(CHANNEL, message.ts):
                    if GENERATE in reply.action_ids() and "Draft 1*" in json.dumps(reply.blocks):
                        return message, reply
        return None

    return slack.wait_until(card, what="the draft card")
