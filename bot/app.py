"""The Bolt app: built from `Services`, listeners registered, nothing else."""

from __future__ import annotations

from typing import Any

from slack_bolt import App

from bot.listeners import register_listeners
from bot.services import Services


def build_app(services: Services, **app_options: Any) -> App:
    settings = services.settings
    app = App(
        client=services.chat.client,
        signing_secret=settings.slack_signing_secret,
        process_before_response=settings.process_before_response,
        # No auth.test at start-up: it would cost every Lambda cold start a round trip.
        token_verification_enabled=False,
        **app_options,
    )
    register_listeners(app, services)
    return app
