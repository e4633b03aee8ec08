"""The local backend's upkeep: what the AWS backend's sweeper and dead-letter handler do, run in
this process at start-up and then every minute."""

from __future__ import annotations

import logging
import threading
from typing import Any

from bot.jobs.sweeper import reconcile_local_renders
from bot.runtime.services import Services
from bot.runtime.unfinished import explain_pending_requests

log = logging.getLogger(__name__)

UPKEEP_INTERVAL_S = 60.0  # how often the local backend reconciles its renders and slow work
STALE_AFTER_S = 120.0  # an active render this process doesn't know, untouched for this long, was lost


class LocalUpkeep:
    """What the AWS backend's sweeper and dead-letter handler do, for the local backend: at start-up
    and then every minute, renders a restart cut off are ended with an explanation (their orphaned
    processes killed first), renders whose end couldn't be recorded are recorded, and requests whose
    slow work was cut off are explained (bot.jobs.sweeper, bot.runtime.unfinished)."""

    def __init__(self, services: Services, launcher: Any, pending: Any) -> None:
        self.services, self.launcher, self.pending = services, launcher, pending
        self.started_at = services.clock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def at_start(self) -> None:
        self.launcher.kill_orphans()
        self.run(stale_after_s=0.0)

    def run(self, *, stale_after_s: float = STALE_AFTER_S) -> None:
        for step in (
            lambda: reconcile_local_renders(self.services, self.launcher, stale_after_s=stale_after_s),
            lambda: explain_pending_requests(
                self.pending,
                chat=self.services.chat,
                store=self.services.store,
                clock=self.services.clock,
                started_before=self.started_at,
            ),
        ):
            try:
                step()
            except Exception:  # the next round tries again (Slack or the disk may be back by then)
                log.warning("local upkeep failed; trying again in a minute", exc_info=True)

    def start(self, interval_s: float = UPKEEP_INTERVAL_S) -> None:
        def loop() -> None:
            while not self._stop.wait(interval_s):
                self.run()

        self._thread = threading.Thread(target=loop, name="local-upkeep", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
