"""Lazy listeners (the slow work after an ack) on their own threads, each recorded while it runs.

Bolt runs the ack functions and the lazy listeners on one pool (`App(listener_executor=...)`), so a
burst of slow work (a refinement takes seconds) would leave the next person's ack waiting past Slack's
3-second deadline. Here acks keep Bolt's pool and the slow work gets its own
(`ThreadListenerRunner.lazy_listener_runner`, the seam Bolt's Lambda adapter also replaces).

Locally, each piece of slow work is written down when it starts and struck off when it ends, so one a
crash or a kill cut short is explained to the person after the restart (`bot.unfinished`), as the
dead-letter queue does on Lambda.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Protocol

from slack_bolt import App
from slack_bolt.lazy_listener.internals import build_runnable_function
from slack_bolt.lazy_listener.runner import LazyListenerRunner
from slack_bolt.request import BoltRequest
from slack_bolt.util.utils import get_name_for_callable

log = logging.getLogger(__name__)

LAZY_WORKERS = 16  # slow work waits mostly on Slack and the refiner, not on the CPU


class PendingRecord(Protocol):
    def add_pending(self, key: str, *, listener: str, body: str, now: float) -> None: ...

    def finish_pending(self, key: str) -> None: ...


class RecordedLazyRunner(LazyListenerRunner):
    """Bolt's thread runner for lazy listeners, on a pool of its own, recording each while it runs."""

    def __init__(
        self,
        logger: logging.Logger,
        executor: Executor,
        pending: PendingRecord | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        import time

        self.logger = logger
        self.executor = executor
        self.pending = pending
        self.clock = clock or time.time

    def start(self, function: Callable[..., None], request: BoltRequest) -> None:
        key = self._record(function, request)
        work = build_runnable_function(func=function, logger=self.logger, request=request)

        def run() -> None:
            try:
                work()
            finally:
                self._strike_off(key)

        self.executor.submit(run)

    def _record(self, function: Callable[..., None], request: BoltRequest) -> str | None:
        if self.pending is None:
            return None
        key = uuid.uuid4().hex
        try:
            self.pending.add_pending(
                key, listener=get_name_for_callable(function), body=request.raw_body, now=self.clock()
            )
        except Exception:  # the record is a safety net: its failure mustn't cost the work itself
            log.warning("could not record the slow work of a request", exc_info=True)
            return None
        return key

    def _strike_off(self, key: str | None) -> None:
        if key is None or self.pending is None:
            return
        try:
            self.pending.finish_pending(key)
        except Exception:  # left over, it earns the person a "may not have finished" note after a restart
            log.warning("could not strike off finished slow work", exc_info=True)


def run_lazy_listeners_apart(app: App, pending: PendingRecord | None = None) -> None:
    """Give `app`'s lazy listeners their own pool (and record them in `pending`, when given)."""
    executor = ThreadPoolExecutor(max_workers=LAZY_WORKERS, thread_name_prefix="slow-work")
    app.listener_runner.lazy_listener_runner = RecordedLazyRunner(app.logger, executor, pending)
