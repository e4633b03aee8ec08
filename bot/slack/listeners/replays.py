"""Replayed requests are refused: each Slack signature is accepted once.

Bolt checks that a request carries Slack's signature over its body, made within the last five minutes.
Within those five minutes, anyone who saw a signed request could send the same bytes again. So the
signature is claimed in the session store (`claim_once`, kept until the five minutes are over) before
any listener runs; a request whose signature was claimed already is a replay and gets 401, changing
nothing.

Slack's own retries are new requests with a new signature, and are handled idempotently further in
(the event's message already taken, the session already there, one lazy run per Slack request on
Lambda). Slack retries only Events API deliveries, at most three times, and two deliveries within one
second would share a signature: for events, the retry number (`X-Slack-Retry-Num`, 1-3) is part of
the claim, so a retry is always answered. Bolt's lazy re-invocation on Lambda carries its own fresh
signature and passes through; the front doors (`bot.runtime.lambda_handlers`, `localslack.local_server`)
strip the lazy-only
markers from anything that arrives over HTTP.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import BoltRequest, BoltResponse

from bot.conversation.ports import SessionStore

log = logging.getLogger(__name__)

# Bolt refuses a signature older than five minutes; a minute more covers clocks that disagree.
SIGNATURE_LIFETIME_S = 6 * 60
SLACK_MAX_RETRIES = 3
REFUSED = '{"error": "invalid request"}'  # what Bolt answers a bad signature: a replay learns nothing more

Middleware = Callable[[BoltRequest, Callable[[], BoltResponse]], BoltResponse]


def _header(request: BoltRequest, name: str) -> str:
    values = request.headers.get(name) or [""]
    return str(values[0] or "")


def replay_key(request: BoltRequest) -> str | None:
    """What a replay would repeat: the signature (and an event's retry number), or None when the
    request carries no signature (Socket Mode)."""
    signature = _header(request, "x-slack-signature")
    if not signature:
        return None
    retry = _header(request, "x-slack-retry-num")
    body: Any = request.body
    is_event = isinstance(body, dict) and body.get("type") == "event_callback"
    if is_event and retry in {str(n) for n in range(1, SLACK_MAX_RETRIES + 1)}:
        return f"slack-signature:{signature}:retry-{retry}"
    return f"slack-signature:{signature}"


def refuse_replays(store: SessionStore, clock: Callable[[], float]) -> Middleware:
    """Bolt middleware (after Bolt's own signature check): 401 to a signature seen before."""

    def refuse_replayed_requests(req: BoltRequest, next: Callable[[], BoltResponse]) -> BoltResponse:
        if req.mode != "http" or req.lazy_only:
            return next()
        key = replay_key(req)
        if key is None:
            return next()
        stamp = _header(req, "x-slack-request-timestamp")
        expires_at = (int(stamp) if stamp.isdigit() else int(clock())) + SIGNATURE_LIFETIME_S
        try:
            first = store.claim_once(key, expires_at=expires_at, now=clock())
        except Exception:  # the store is down: the signature and its age were still checked by Bolt
            log.warning("could not record a request's signature; answering it anyway", exc_info=True)
            return next()
        if not first:
            log.warning("refused a replayed request")
            return BoltResponse(status=401, body=REFUSED)
        return next()

    return refuse_replayed_requests
