"""Messages: a person's reply in a session thread is a refinement turn; everything else is acked
and ignored (other threads, top-level chatter, edits, deletions, joins, bots — including ourselves).
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.conversation import Conversation
from bot.listeners.guard import explain_failures
from bot.services import Services


def is_thread_reply(event: dict[str, Any]) -> bool:
    return (
        event.get("subtype") is None
        and event.get("bot_id") is None
        and bool(event.get("user"))
        and bool(event.get("text", "").strip())
        and event.get("thread_ts") not in (None, event.get("ts"))
    )


def acknowledge(ack: Ack) -> None:
    ack()


def register(app: App, services: Services) -> None:
    conversation = Conversation(services)
    guarded = explain_failures(services)

    @guarded
    def refine_from_reply(body: dict[str, Any], event: dict[str, Any]) -> None:
        conversation.reply(
            channel=event["channel"], thread_ts=event["thread_ts"], user=event["user"], text=event["text"]
        )

    app.event("message", matchers=[is_thread_reply])(ack=acknowledge, lazy=[refine_from_reply])
    # Every other message event is acknowledged, so Slack never retries it, and nothing more.
    app.event("message")(acknowledge)
