"""A guard for lazy listeners: whatever breaks, the person hears about it in the thread.

Bolt only logs an exception raised in a lazy listener; a person would be left waiting in silence.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from typing import Any

from bot.runtime.services import Services
from bot.slack.blocks import ref_field
from bot.slack.chat import ChatError

log = logging.getLogger(__name__)

SORRY = "Sorry, something went wrong on my side and I couldn't finish that. Please try again in a moment."


def where(body: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    """(channel, user, thread_ts) of a slash command, an interaction or an event."""
    if "command" in body:
        return body.get("channel_id"), body.get("user_id"), None
    if body.get("type") == "event_callback":
        event = body.get("event") or {}
        return event.get("channel"), event.get("user"), event.get("thread_ts") or event.get("ts")
    if body.get("type") == "view_submission":
        try:
            meta = json.loads((body.get("view") or {}).get("private_metadata") or "{}")
        except ValueError:
            meta = {}
        meta = meta if isinstance(meta, dict) else {}
        user = (body.get("user") or {}).get("id")
        return ref_field(meta, "channel"), user, ref_field(meta, "thread_ts")
    container = body.get("container") or {}
    channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
    thread_ts = container.get("thread_ts") or (body.get("message") or {}).get("thread_ts")
    return channel, (body.get("user") or {}).get("id"), thread_ts


def explain_failures(services: Services) -> Callable[[Callable[..., None]], Callable[..., None]]:
    def decorate(work: Callable[..., None]) -> Callable[..., None]:
        @functools.wraps(work)  # Bolt reads the argument names through the wrapper
        def guarded(**kwargs: Any) -> None:
            try:
                work(**kwargs)
            except Exception:
                log.exception("%s failed", work.__name__)
                channel, user, thread_ts = where(kwargs.get("body") or {})
                if channel and user:
                    try:
                        services.chat.ephemeral(channel, user, SORRY, thread_ts=thread_ts)
                    except ChatError:
                        log.warning("could not tell %s about the failure", user)

        return guarded

    return decorate
