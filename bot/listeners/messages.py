"""Messages: a reply in a session thread is a refinement turn; a picture shared with the bot starts (or
switches) an image-to-video session. Everything else is acked and ignored: other threads, top-level
chatter, edits, deletions, joins, bots (the bot itself included).
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.conversation import Conversation
from bot.listeners.guard import explain_failures


def _from_a_person(event: dict[str, Any]) -> bool:
    return event.get("bot_id") is None and bool(event.get("user")) and event.get("user") != "USLACKBOT"


def is_thread_reply(event: dict[str, Any]) -> bool:
    return (
        event.get("subtype") is None
        and _from_a_person(event)
        and bool(event.get("text", "").strip())
        and event.get("thread_ts") not in (None, event.get("ts"))
    )


def is_file_share(event: dict[str, Any]) -> bool:
    files = event.get("files")
    return (
        event.get("subtype") == "file_share"
        and _from_a_person(event)
        and isinstance(files, list)
        and bool(files)
    )


def acknowledge(ack: Ack) -> None:
    ack()


def register(app: App, conversation: Conversation) -> None:
    guarded = explain_failures(conversation.services)

    @guarded
    def refine_from_reply(body: dict[str, Any], event: dict[str, Any]) -> None:
        conversation.reply(
            channel=event["channel"],
            thread_ts=event["thread_ts"],
            user=event["user"],
            text=event["text"],
            team=body.get("team_id", ""),
            ts=event.get("ts"),
        )

    @guarded
    def animate_shared_picture(body: dict[str, Any], event: dict[str, Any]) -> None:
        files = [f for f in event["files"] if isinstance(f, dict)]
        pictures = [f for f in files if str(f.get("mimetype", "")).startswith("image/")]
        # A stub without a type (Slack's "check_file_info") may still be a picture: look it up.
        unknown = [f for f in files if not f.get("mimetype")]
        if not pictures and not unknown:
            if is_thread_reply({**event, "subtype": None}):
                refine_from_reply(body=body, event=event)  # a document shared with words: they still count
            return
        conversation.share_picture(
            channel=event["channel"],
            user=event["user"],
            message_ts=event["ts"],
            thread_ts=event.get("thread_ts"),
            file=(pictures or unknown)[0],
            text=event.get("text", ""),
            team=body.get("team_id", ""),
        )

    app.event("message", matchers=[is_thread_reply])(ack=acknowledge, lazy=[refine_from_reply])
    app.event("message", matchers=[is_file_share])(ack=acknowledge, lazy=[animate_shared_picture])
    # Every other message event is acknowledged, so Slack never retries it, and nothing more.
    app.event("message")(acknowledge)
