"""Bolt listeners, one module per Slack surface; each has `register(app, services)`.

Every listener acks at once (Slack allows 3 seconds) and does its slow work in a lazy listener,
which Bolt runs in a thread locally and as a second invocation of the same function on Lambda.
"""

from __future__ import annotations

from slack_bolt import App

from bot.listeners import actions, commands, messages
from bot.services import Services


def register_listeners(app: App, services: Services) -> None:
    commands.register(app, services)
    actions.register(app, services)
    messages.register(app, services)
