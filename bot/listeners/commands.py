"""`/video`: parse and answer within Slack's 3 seconds; start the session in a lazy listener."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond

from bot.chat import ChatError
from bot.command_text import HELP_TEXT, CommandError, parse_video_command
from bot.conversation import Conversation
from bot.listeners.guard import explain_failures
from bot.services import Services

CANT_POST_HERE = (
    "I can't post in this conversation yet. Invite me with `/invite @videobot`, "
    "or send `/video` in a direct message with me."
)
CANT_POST_ERRORS = {"not_in_channel", "channel_not_found", "is_archived", "restricted_action"}


def register(app: App, services: Services) -> None:
    conversation = Conversation(services)
    guarded = explain_failures(services)

    def acknowledge_video_command(ack: Ack, command: dict[str, Any]) -> None:
        try:
            parsed = parse_video_command(command.get("text", ""))
        except CommandError as error:
            ack(text=f"⚠️ {error}")
            return
        if parsed.action == "help":
            ack(text=HELP_TEXT)
            return
        ack()

    @guarded
    def start_video_session(body: dict[str, Any], command: dict[str, Any], respond: Respond) -> None:
        try:
            parsed = parse_video_command(command.get("text", ""))
        except CommandError:
            return  # already explained in the ack
        if parsed.action != "video":
            return
        try:
            conversation.start(
                channel=command["channel_id"],
                user=command["user_id"],
                idea=parsed.idea,
                options=parsed.options,
            )
        except ChatError as error:
            if error.error not in CANT_POST_ERRORS:
                raise
            respond(text=CANT_POST_HERE, response_type="ephemeral")

    app.command(services.settings.command)(ack=acknowledge_video_command, lazy=[start_video_session])
