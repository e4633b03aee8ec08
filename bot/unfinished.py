"""Slack requests whose slow work died on the way (the invocation timed out, ran out of memory, crashed):
the person is told, from the invocation's dead letter.

On Lambda a lazy listener is an asynchronous invocation that Lambda doesn't retry (a second run could
repeat half-done work, such as a posted message). When one fails outright, Lambda puts its event on the
function's dead-letter queue; each message there is the invocation's event, the Slack request inside
it, which says who asked and where. Each person gets one note (a claim per message, as SQS may deliver
a message twice), and the alarm on the messages sent to that queue tells the operators.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from bot.chat import ChatError, SlackChat
from bot.listeners.guard import where
from bot.ports import SessionStore

if TYPE_CHECKING:
    from bot.store.sqlite import PendingRequest

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


class PendingRequests(Protocol):
    """The local record of slow work in flight (bot.store.sqlite, bot.lazy_work)."""

    def pending_requests(self) -> list[PendingRequest]: ...

    def finish_pending(self, key: str) -> None: ...


def explain_pending_requests(
    pending: PendingRequests,
    *,
    chat: SlackChat,
    store: SessionStore,
    clock: Callable[[], float],
    started_before: float,
) -> int:
    """Locally: tell each person whose request's slow work a restart cut short (recorded before this
    process started, never struck off). One note per request; returns how many were told."""
    from bot.aws import _slack_body

    told = 0
    for record in pending.pending_requests():
        if record.created_at >= started_before:
            continue  # this process's own work, still running
        try:
            explained = explain_unfinished(
                {"body": record.body},
                # one note per request, however many of its listeners were cut short
                "pending:" + hashlib.sha256(record.body.encode()).hexdigest(),
                chat=chat,
                store=store,
                clock=clock,
                slack_body=lambda invocation: _slack_body(invocation["body"]),
            )
        except ChatError:
            log.warning("could not explain unfinished work yet; trying again later", exc_info=True)
            continue
        pending.finish_pending(record.key)
        told += explained
    return told
