"""The Bolt app: built from `Services`, listeners registered, nothing else."""

from __future__ import annotations

from typing import Any

from slack_bolt import App

from bot.lazy_work import run_lazy_listeners_apart
from bot.listeners import register_listeners
from bot.services import Services

AUTH_TEST_FAILED = "Sorry, I couldn't reach Slack just now to get started. Please try again in a moment."


def build_app(services: Services, **app_options: Any) -> App:
    settings = services.settings
    app = App(
        client=services.chat.client,
        signing_secret=settings.slack_signing_secret,
        process_before_response=settings.process_before_response,
        # No auth.test at start-up: it would cost every Lambda cold start a round trip.
        token_verification_enabled=False,
        # ...so a Slack hiccup on the first request's auth.test is what people hear about, not Bolt's
        # "your installation is no longer available, please reinstall".
        user_facing_authorize_error_message=AUTH_TEST_FAILED,
        # Named, Bolt skips `inspect.stack()` (reading every caller's source file) to name itself.
        name="videobot",
        **app_options,
    )
    register_listeners(app, services)
    # Acks never wait behind slow work; locally, unfinished slow work is on record (bot.lazy_work).
    run_lazy_listeners_apart(app, services.pending)
    return app
