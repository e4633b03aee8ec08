"""Structured logs: one JSON object per line (Powertools Logger) carrying the session and job ids,
with every Slack token and known secret blanked out before a line is written.

Modules keep logging through the standard library (`logging.getLogger(__name__)`); `log_context`
adds keys to every line logged inside it, and `setup_logging` (the Lambda entrypoints call it)
routes the bot's and the Slack libraries' loggers through one Powertools handler. Nothing here
imports Powertools until `setup_logging` runs, so the local runtime pays nothing for it.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger

DEFAULT_SERVICE = "videobot"
# Loggers whose records go through the structured handler: ours, Slack's, and Powertools' own users.
ROUTED_LOGGERS = (
    "bot",
    "processing_job",
    "slack_bolt",
    "slack_sdk",
    "botocore",
    "boto3",
    "s3transfer",
    "urllib3",
)
# botocore logs whole response bodies at DEBUG, the Slack secret's among them: never below WARNING.
QUIET_LOGGERS = ("botocore", "boto3", "s3transfer", "urllib3")
REDACTED = "[REDACTED]"
# Slack tokens (bot, user, app-level, refresh, config), wherever they appear: headers, URLs, reprs.
TOKEN_PATTERN = re.compile(r"\bxox[abeoprs]-[A-Za-z0-9-]+|\bxapp-[A-Za-z0-9-]+")
MIN_SECRET_LENGTH = 8  # shorter "secrets" would blank out ordinary words

_keys: ContextVar[dict[str, Any]] = ContextVar("videobot_log_keys", default={})  # noqa: B039 - never mutated
_secrets: set[str] = set()
_secrets_lock = threading.Lock()


@contextmanager
def log_context(**keys: Any) -> Iterator[None]:
    """Every line logged inside (in this thread) carries `keys`, e.g. session=..., job_id=..."""
    token = _keys.set({**_keys.get(), **{k: v for k, v in keys.items() if v is not None}})
    try:
        yield
    finally:
        _keys.reset(token)


@contextmanager
def deferred_log_context(compute: Callable[[], Mapping[str, Any]]) -> Iterator[None]:
    """Like `log_context`, for keys that cost something to work out (parsing a Slack request body):
    `compute` runs when the first line is logged inside, and not at all when none is (the Slack ack
    path usually logs nothing). Keys given to `log_context` take precedence over these."""
    token = _keys.set({**_keys.get(), _DEFERRED: _DeferredKeys(compute)})
    try:
        yield
    finally:
        _keys.reset(token)


class _DeferredKeys:
    def __init__(self, compute: Callable[[], Mapping[str, Any]]) -> None:
        self._compute = compute
        self._keys: dict[str, Any] | None = None

    def keys(self) -> dict[str, Any]:
        if self._keys is None:  # two threads may both compute it: same answer, no harm
            self._keys = {k: v for k, v in self._compute().items() if v is not None}
        return self._keys


_DEFERRED = "_deferred_keys"


def current_keys() -> dict[str, Any]:
    keys = _keys.get()
    deferred = keys.get(_DEFERRED)
    if deferred is None:
        return dict(keys)
    return {**deferred.keys(), **{k: v for k, v in keys.items() if k != _DEFERRED}}


def register_secrets(values: Iterable[str]) -> None:
    """Values that must never be written to a log (the signing secret, the bot token)."""
    with _secrets_lock:
        _secrets.update(v for v in values if v and len(v) >= MIN_SECRET_LENGTH)


def redact(text: str) -> str:
    with _secrets_lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        text = text.replace(secret, REDACTED)
    return TOKEN_PATTERN.sub(REDACTED, text)


class ContextKeysFilter(logging.Filter):
    """Copies the `log_context` keys onto each record, where the JSON formatter picks them up."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in current_keys().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


def _redacting_formatter() -> Any:
    from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

    class RedactingFormatter(LambdaPowertoolsFormatter):
        """The whole line is scrubbed, so a secret can't slip through a message, an extra key or a
        traceback alike."""

        def format(self, record: logging.LogRecord) -> str:
            return redact(super().format(record))

    return RedactingFormatter()


def setup_logging(
    *, service: str | None = None, level: str | None = None, stream: IO[str] | None = None
) -> Logger:
    """The Powertools Logger for this container, with our and Slack's loggers routed through it.

    Called again (a test's "cold start"), it reuses the configured logger and points it at `stream`.
    Level and service come from POWERTOOLS_LOG_LEVEL / POWERTOOLS_SERVICE_NAME unless given.
    """
    import os

    from aws_lambda_powertools import Logger
    from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

    service = service or os.environ.get("POWERTOOLS_SERVICE_NAME") or DEFAULT_SERVICE
    level = (level or os.environ.get("POWERTOOLS_LOG_LEVEL") or "INFO").upper()
    stream = stream or sys.stdout
    logger = Logger(service=service, level=level, stream=stream, logger_formatter=_redacting_formatter())
    # A logger configured earlier (same service) keeps its handler and level: bring both up to date.
    logger.setLevel(level)
    handler = logger.registered_handler
    if isinstance(handler, logging.StreamHandler):
        handler.setStream(stream)
    if not any(isinstance(f, ContextKeysFilter) for f in handler.filters):
        handler.addFilter(ContextKeysFilter())
    for name in ROUTED_LOGGERS:
        logging.getLogger(name)  # register it, so the copy below finds it
    copy_config_to_registered_loggers(source_logger=logger, include=set(ROUTED_LOGGERS))
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(logger.log_level, logging.WARNING))
    # Slack's libraries stay at WARNING unless we debug: their INFO lines are noise in CloudWatch.
    if logger.log_level > logging.DEBUG:
        for name in ("slack_bolt", "slack_sdk"):
            logging.getLogger(name).setLevel(max(logger.log_level, logging.WARNING))
    return logger
