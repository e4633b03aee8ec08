"""Messages: a reply in a session thread is a refinement turn; a picture shared with the bot starts (or
switches) an image-to-video session, and a video a restyle (video-to-video). Everything else is acked
and ignored: other threads, top-level chatter, edits, deletions, joins, bots (the bot itself included).

Shared with the bot means: in a direct message with it, into a session's thread, with the bot mentioned
in the message, or in a channel that takes every picture (`/video channel pictures all`; the workspace's
default is `VIDEOBOT_CHANNEL_PICTURES`). A 🎬 reaction asks for a picture too (listeners/reactions.py).
That is judged before any listener (bot.slack.relevance, a middleware here and the Lambda's front door):
a picture posted in a channel for the people there never reaches these listeners.

A reply sent with "Also send to channel" arrives with `subtype: thread_broadcast`; it is a reply like any
other. Text is decoded from Slack's escaping once, here (`slack_text.plain_text_from_slack`).
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk.errors import SlackApiError

from bot.conversation.conversation import Conversation
from bot.slack.listeners.guard import explain_failures
from bot.slack.text import plain_text_from_slack

log = logging.getLogger(__name__)

REPLY_SUBTYPES = (None, "thread_broadcast")
MAX_FILES_LOOKED_UP = 10  # Slack attaches at most 10 files to a message


def _from_a_person(event: dict[str, Any]) -> bool:
    return event.get("bot_id") is None and bool(event.get("user")) and event.get("user") != "USLACKBOT"


def is_thread_reply(event: dict[str, Any]) -> bool:
    return (
        event.get("subtype") in REPLY_SUBTYPES
        and _from_a_person(event)
        and isinstance(event.get("text"), str)
        and bool(event["text"].strip())
        and isinstance(event.get("thread_ts"), str)
        and event.get("thread_ts") != event.get("ts")
    )


def is_file_share(event: dict[str, Any]) -> bool:
    files = event.get("files")
    return (
        event.get("subtype") == "file_share"
        and _from_a_person(event)
        and isinstance(files, list)
        and bool(files)
    )


def _is_picture(file: dict[str, Any]) -> bool:
    """A picture, or a video (to restyle): the media a session can start from."""
    return str(file.get("mimetype", "")).lower().startswith(("image/", "video/"))


def acknowledge(ack: Ack) -> None:
    ack()


def register(app: App, conversation: Conversation) -> None:
    guarded = explain_failures(conversation.services)

    def the_picture(files: list[dict[str, Any]]) -> dict[str, Any] | None:
        """The first picture (or video) among the shared files. A stub without a type (Slack Connect's
        `file_access: check_file_info`) may be one: it is completed with files.info, in order."""
        pictures = [f for f in files if _is_picture(f)]
        if pictures:
            return pictures[0]
        for stub in [f for f in files if not f.get("mimetype") and f.get("id")][:MAX_FILES_LOOKED_UP]:
            try:
                info = conversation.services.chat.client.files_info(file=str(stub["id"]))
            except SlackApiError as error:
                log.warning("files.info for %s failed: %s", stub["id"], error.response.get("error"))
                continue
            file = info.get("file")
            if isinstance(file, dict) and _is_picture(file):
                return file
        return None

    @guarded
    def refine_from_reply(body: dict[str, Any], event: dict[str, Any], context: BoltContext) -> None:
        text = plain_text_from_slack(event.get("text") or "", bot_user_id=context.bot_user_id)
        if not text.strip():
            return  # only a mention of the bot: nothing to refine with
        conversation.reply(
            channel=event["channel"],
            thread_ts=event["thread_ts"],
            user=event["user"],
            text=text,
            team=body.get("team_id", ""),
            ts=event.get("ts"),
        )

    @guarded
    def animate_shared_picture(body: dict[str, Any], event: dict[str, Any], context: BoltContext) -> None:
        files = [f for f in event["files"] if isinstance(f, dict)]
        picture = the_picture(files)
        if picture is None:
            if is_thread_reply({**event, "subtype": None}):
                # a document shared with words: they still count
                refine_from_reply(body=body, event=event, context=context)
            return
        conversation.share_picture(
            channel=event["channel"],
            user=event["user"],
            message_ts=event["ts"],
            thread_ts=event.get("thread_ts"),
            file=picture,
            text=plain_text_from_slack(event.get("text") or "", bot_user_id=context.bot_user_id),
            team=body.get("team_id", ""),
        )

    app.event("message", matchers=[is_thread_reply])(ack=acknowledge, lazy=[refine_from_reply])
    app.event("message", matchers=[is_file_share])(ack=acknowledge, lazy=[animate_shared_picture])
    # Every other message event is acknowledged, so Slack never retries it, and nothing more.
    app.event("message")(acknowledge)
