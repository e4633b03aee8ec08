"""The App Home tab: `app_home_opened` publishes it; its selects (my defaults) and 🗑️ Delete (confirmed
in Slack's own dialog) act on it. Clicks on a Home tab carry the view, not a message or a channel, so
whatever goes wrong is said on the tab itself, never as a traceback or silence."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App

from bot.conversation.conversation import Conversation
from bot.conversation.home import Home
from bot.slack import home_blocks
from bot.slack.listeners.guard import SORRY

log = logging.getLogger(__name__)


def acknowledge(ack: Ack) -> None:
    ack()


def _user(body: dict[str, Any]) -> str | None:
    user = (body.get("user") or {}).get("id") or (body.get("event") or {}).get("user")
    return user if isinstance(user, str) and user else None


def opened_the_home_tab(event: dict[str, Any]) -> bool:
    return event.get("tab") == "home"


def register(app: App, conversation: Conversation) -> None:
    home = Home(conversation.services)

    def on_the_tab(work: Callable[..., None]) -> Callable[..., None]:
        """Whatever breaks, the person reads it on their Home tab."""

        @functools.wraps(work)  # Bolt reads the argument names through the wrapper
        def guarded(**kwargs: Any) -> None:
            try:
                work(**kwargs)
            except Exception:
                log.exception("%s failed", work.__name__)
                user = _user(kwargs.get("body") or {})
                if user:
                    home.publish(user, notice=SORRY)

        return guarded

    @on_the_tab
    def publish_home(body: dict[str, Any]) -> None:
        user = _user(body)
        if user:
            home.publish(user)

    @on_the_tab
    def choose_default(body: dict[str, Any], action: dict[str, Any]) -> None:
        user = _user(body)
        value = (action.get("selected_option") or {}).get("value")
        field = home_blocks.DEFAULT_FIELDS.get(str(action.get("action_id")))
        if user and field and isinstance(value, str):
            home.choose_default(user=user, field=field, value=value)

    @on_the_tab
    def delete_video(body: dict[str, Any], action: dict[str, Any]) -> None:
        user, job_id = _user(body), action.get("value")
        if user and isinstance(job_id, str) and job_id:
            home.delete_video(job_id=job_id, user=user)

    app.event("app_home_opened", matchers=[opened_the_home_tab])(ack=acknowledge, lazy=[publish_home])
    app.event("app_home_opened")(acknowledge)  # the Messages tab (a DM): nothing to do, no slow work
    for action_id in home_blocks.DEFAULT_FIELDS:
        app.action(action_id)(ack=acknowledge, lazy=[choose_default])
    app.action(home_blocks.DELETE_VIDEO)(ack=acknowledge, lazy=[delete_video])
