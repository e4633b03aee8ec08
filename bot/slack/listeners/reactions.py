"""Reactions: 🎬 (`:clapper:`) on a message with a picture or a video asks for a video of it. The
session belongs to whoever reacted: in the message's thread when it is their own message, else in a
thread the bot opens for them (bot.conversation.drafting.share_from_reaction).

A `reaction_added` event names only the message (channel and ts), so its files are read back from
Slack: `conversations.history` for a message in the channel (`latest` = `oldest` = its ts,
`inclusive`, `limit=1`: Slack's documented way to read one message), `conversations.replies` for one in
a thread. Every other reaction is dropped before any listener (bot.slack.relevance).
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk.errors import SlackApiError

from bot.conversation.conversation import Conversation
from bot.slack.listeners.guard import explain_failures
from bot.slack.relevance import CLAPPER
from bot.slack.text import plain_text_from_slack

log = logging.getLogger(__name__)

MEDIA_TYPES = ("image/", "video/")


def is_clapper_on_a_message(event: dict[str, Any]) -> bool:
    item = event.get("item")
    return (
        event.get("reaction") == CLAPPER
        and isinstance(item, dict)
        and item.get("type") == "message"
        and isinstance(item.get("channel"), str)
        and isinstance(item.get("ts"), str)
        and isinstance(event.get("user"), str)
    )


def acknowledge(ack: Ack) -> None:
    ack()


def register(app: App, conversation: Conversation) -> None:
    guarded = explain_failures(conversation.services)
    client = conversation.services.chat.client

    def the_message(channel: str, ts: str) -> dict[str, Any] | None:
        """The reacted message as Slack holds it, or None when it can't be read."""
        try:
            found = client.conversations_history(
                channel=channel, latest=ts, oldest=ts, inclusive=True, limit=1
            )
            messages = [m for m in found.get("messages") or [] if isinstance(m, dict) and m.get("ts") == ts]
            if not messages:  # a reply in a thread: the channel's history leaves those out
                found = client.conversations_replies(channel=channel, ts=ts, limit=200)
                messages = [
                    m for m in found.get("messages") or [] if isinstance(m, dict) and m.get("ts") == ts
                ]
        except SlackApiError as error:
            log.warning("could not read the message reacted to: %s", error.response.get("error"))
            return None
        return messages[0] if messages else None

    @guarded
    def video_from_reaction(body: dict[str, Any], event: dict[str, Any], context: BoltContext) -> None:
        item, user = event["item"], event["user"]
        if user == context.bot_user_id:
            return
        message = the_message(item["channel"], item["ts"])
        if message is None:
            return
        files = [f for f in message.get("files") or [] if isinstance(f, dict)]
        media = next((f for f in files if str(f.get("mimetype", "")).lower().startswith(MEDIA_TYPES)), None)
        if media is None:
            return  # 🎬 on words alone: nothing to animate
        conversation.share_from_reaction(
            channel=item["channel"],
            user=user,
            author=str(message.get("user") or event.get("item_user") or ""),
            message_ts=item["ts"],
            thread_ts=message.get("thread_ts"),
            file=media,
            text=plain_text_from_slack(message.get("text") or "", bot_user_id=context.bot_user_id),
            team=body.get("team_id", ""),
        )

    app.event("reaction_added", matchers=[is_clapper_on_a_message])(
        ack=acknowledge, lazy=[video_from_reaction]
    )
    app.event("reaction_added")(acknowledge)
