"""`/video`: parse and check within Slack's 3 seconds; start the session (or answer status) lazily.

The text is decoded from Slack's escaping first (`slack_text`), so flags and the idea are what was typed.
Everything that can be refused without the store is refused in the ack, as a private answer, and
nothing starts: mistakes in the flags, options the model or the workspace doesn't allow, a person or
channel the workspace hasn't opened videos to.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond

from bot.conversation.conversation import Conversation
from bot.conversation.limits import Limits
from bot.conversation.quotas import access_refusal
from bot.conversation.requests import check_request, sentences
from bot.conversation.storyboarding import Storyboarding
from bot.slack.chat import ChatError
from bot.slack.command_text import HELP_TEXT, CommandError, VideoCommand, parse_video_command
from bot.slack.listeners.guard import explain_failures
from bot.slack.text import plain_text_from_slack

CANT_POST_HERE = (
    "I can't post in this conversation yet. Invite me with `/invite @videobot`, "
    "or send `/video` in a direct message with me."
)
CANT_POST_ERRORS = {"not_in_channel", "channel_not_found", "is_archived", "restricted_action"}


def option_problems(parsed: VideoCommand, default_model: str, limits: Limits) -> list[str]:
    """What the flags ask for that the model or this workspace can't do (the defaults always fit)."""
    problems = check_request(
        parsed.options, default_model=default_model, limits=limits, prompt=parsed.idea, only_chosen=True
    )
    return sentences(problems)


def typed_text(command: dict[str, Any]) -> str:
    """The command's text as the person typed it (Slack escapes `&`, `<`, `>` even with should_escape off)."""
    text = command.get("text")
    return plain_text_from_slack(text if isinstance(text, str) else "")


def register(app: App, conversation: Conversation) -> None:
    settings = conversation.settings
    guarded = explain_failures(conversation.services)

    def acknowledge_video_command(ack: Ack, command: dict[str, Any]) -> None:
        try:
            parsed = parse_video_command(typed_text(command))
        except CommandError as error:
            ack(text=f"⚠️ {error}")
            return
        if parsed.action == "help":
            ack(text=HELP_TEXT)
            return
        if parsed.action in ("video", "story"):
            refusal = access_refusal(
                settings.limits, user=command.get("user_id", ""), channel=command.get("channel_id", "")
            )
            problems = (
                [refusal] if refusal else option_problems(parsed, settings.default_model, settings.limits)
            )
            if problems:
                ack(text="⚠️ " + " ".join(problems))
                return
        ack()

    @guarded
    def answer_video_command(body: dict[str, Any], command: dict[str, Any], respond: Respond) -> None:
        try:
            parsed = parse_video_command(typed_text(command))
        except CommandError:
            return  # already explained in the ack
        if parsed.action == "status":
            text, status_blocks = conversation.status(user=command["user_id"])
            answer = respond(text=text, blocks=status_blocks, response_type="ephemeral")
            if answer.status_code != 200:  # the response_url refused (used up, expired, a Slack hiccup)
                conversation.services.chat.ephemeral(command["channel_id"], command["user_id"], text)
            return
        if parsed.action == "channel":
            answer_channel_setting(parsed, command, respond)
        if parsed.action == "story":
            answer_story_command(parsed, command, respond)
            return
        if parsed.action != "video":
            return
        if access_refusal(settings.limits, user=command["user_id"], channel=command["channel_id"]):
            return  # already explained in the ack
        if option_problems(parsed, settings.default_model, settings.limits):
            return
        try:
            conversation.start(
                channel=command["channel_id"],
                user=command["user_id"],
                idea=parsed.idea,
                options=parsed.options,
                team=command.get("team_id", ""),
            )
        except ChatError as error:
            if error.error not in CANT_POST_ERRORS:
                raise
            respond(text=CANT_POST_HERE, response_type="ephemeral")

    def answer_channel_setting(parsed: VideoCommand, command: dict[str, Any], respond: Respond) -> None:
        """`/video channel pictures all|mention` (bot.conversation.drafting.choose_channel_pictures)."""
        text = conversation.choose_channel_pictures(
            channel=command["channel_id"], user=command["user_id"], mode=parsed.pictures
        )
        respond(text=text, response_type="ephemeral")

    storyboarding = Storyboarding(conversation.services)

    def answer_story_command(parsed: VideoCommand, command: dict[str, Any], respond: Respond) -> None:
        """`/video story <idea> [--shots N]`: the storyboard's thread and card."""
        if access_refusal(settings.limits, user=command["user_id"], channel=command["channel_id"]):
            return  # already explained in the ack
        if option_problems(parsed, settings.default_model, settings.limits):
            return
        try:
            storyboarding.start(
                channel=command["channel_id"],
                user=command["user_id"],
                idea=parsed.idea,
                shots=parsed.shots,
                options=parsed.options,
                team=command.get("team_id", ""),
            )
        except ChatError as error:
            if error.error not in CANT_POST_ERRORS:
                raise
            respond(text=CANT_POST_HERE, response_type="ephemeral")

    app.command(settings.command)(ack=acknowledge_video_command, lazy=[answer_video_command])
