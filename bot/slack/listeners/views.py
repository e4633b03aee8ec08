"""The settings modal: validated in the ack (errors show under the inputs), saved in a lazy listener."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.conversation.conversation import Conversation
from bot.slack import blocks
from bot.slack.forms import SettingsInvalid, read_settings
from bot.slack.listeners.guard import explain_failures


def register(app: App, conversation: Conversation) -> None:
    limits = conversation.limits
    guarded = explain_failures(conversation.services)

    def check_settings(ack: Ack, view: dict[str, Any]) -> None:
        try:
            read_settings(view, limits)
        except SettingsInvalid as invalid:
            ack(response_action="errors", errors=invalid.errors)
            return
        ack()

    @guarded
    def save_settings(body: dict[str, Any], view: dict[str, Any]) -> None:
        try:
            edited = read_settings(view, limits)
        except SettingsInvalid:
            return  # already shown on the modal
        conversation.apply_settings(edited, user=body["user"]["id"])

    app.view(blocks.SETTINGS_VIEW)(ack=check_settings, lazy=[save_settings])
