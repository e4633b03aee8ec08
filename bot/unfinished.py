"""Slack requests whose slow work died on the way (the invocation timed out, ran out of memory, crashed):
the person is told, from the invocation's dead letter.

On Lambda a lazy listener is an asynchronous invocation that Lambda doesn't retry (a second run could
repeat half-done work, such as a posted message). When one fails outright, Lambda puts its event on the
function's dead-letter queue; each message there is the invocation's event, the Slack request inside
it, which says who asked and where. Each person gets one note (a claim per message, as SQS may deliver
a message twice), and the alarm on the messages sent to that queue tells the operators.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from bot.chat import ChatError, SlackChat
from bot.listeners.guard import where
from bot.ports import SessionStore

log = logging.getLogger(__name__)

UNFINISHED = (
    "Sorry, something went wrong on my side while I was working on that, and it may not have finished. "
    "If nothing more happens here, please try again."
)
CLAIM_TTL_S = 14 * 24 * 3600  # as long as SQS could keep the message


def explain_unfinished(
    invocation: Mapping[str, Any],
    message_id: str,
    *,
    chat: SlackChat,
    store: SessionStore,
    clock: Callable[[], float],
    slack_body: Callable[[Mapping[str, Any]], dict[str, Any]],
) -> bool:
    """Tell the person behind one dead invocation; False when it names nobody to tell."""
    channel, user, thread_ts = where(slack_body(invocation))
    if not (channel and user):
        log.warning("a dead-letter message names no person: %s", message_id)
        return False
    now = clock()
    if not store.claim_once(f"unfinished:{message_id}", expires_at=now + CLAIM_TTL_S, now=now):
        return True  # SQS delivered it again: the person was told already
    try:
        chat.ephemeral(channel, user, UNFINISHED, thread_ts=thread_ts)
    except ChatError as error:
        if error.error in ("channel_not_found", "user_not_in_channel", "not_in_channel"):
            return False
        raise
    return True
