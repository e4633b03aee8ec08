"""Slack's request signature, checked before anything of a request's body is read as data.

Both front doors (the Lambda Function URL handler and the local HTTP server) call this first, so a
request that isn't verifiably Slack's is refused for the cost of one HMAC over its bytes: nothing of
an unsigned body is parsed, and no header value reaches `int()` unless it is a short run of ASCII
digits (`"²".isdigit()` and `"１７".isdigit()` are true; 5,000 digits exceed `int()`'s limit).
"""

from __future__ import annotations

import hashlib
import hmac
import time

MAX_AGE_S = 5 * 60  # Slack's (and Bolt's) window
MAX_TIMESTAMP_DIGITS = 12  # epoch seconds have 10 digits until the year 2286
SIGNATURE_LENGTH = len("v0=") + 64


def plain_timestamp(value: str) -> int | None:
    """The Unix time in an `X-Slack-Request-Timestamp` header, or None unless it is 1-12 ASCII digits."""
    if not (0 < len(value) <= MAX_TIMESTAMP_DIGITS and value.isascii() and value.isdigit()):
        return None
    return int(value)


def signed_by_slack(
    body: bytes, timestamp: str, signature: str, secret: str, *, now: float | None = None
) -> bool:
    """Slack's `v0` signature over the raw body, made within the last five minutes."""
    stamp = plain_timestamp(timestamp)
    if stamp is None or not secret:
        return False
    if abs((time.time() if now is None else now) - stamp) > MAX_AGE_S:
        return False
    if len(signature) != SIGNATURE_LENGTH or not signature.isascii():
        return False
    base = b"v0:" + timestamp.encode("ascii") + b":" + body
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)
