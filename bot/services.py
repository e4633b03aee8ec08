"""The `Services` object: every adapter the app uses, chosen once from the settings.

Local is the default (SQLite, a folder, the local job runner, the offline refiner); `aws` swaps in
DynamoDB, S3, SageMaker and Bedrock behind the same ports.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.chat import SlackChat, make_slack_client
from bot.config import Settings
from bot.ports import BlobStore, ContentGuard, JobLauncher, Refiner, SessionStore

if TYPE_CHECKING:
    from bot.lazy_work import PendingRecord


log = logging.getLogger(__name__)


def random_seed() -> int:
    return secrets.randbelow(2**31)


def no_content_policy() -> ContentGuard:
    from bot.content_guard.local import LocalContentGuard

    return LocalContentGuard()


@dataclass
class Services:
    settings: Settings
    chat: SlackChat
    store: SessionStore
    blobs: BlobStore
    launcher: JobLauncher
    refiner: Refiner
    clock: Callable[[], float] = time.time
    new_seed: Callable[[], int] = random_seed
    closers: list[Callable[[], None]] = field(default_factory=list)
    # Locally, where slow work is recorded while it runs (bot.lazy_work); None on Lambda (its DLQ).
    pending: PendingRecord | None = None
    guard: ContentGuard = field(default_factory=no_content_policy)

    def close(self) -> None:
        for close in reversed(self.closers):
            close()


def build_services(settings: Settings, **overrides: Any) -> Services:
    if settings.backend == "aws":
        from bot.aws_services import build_aws_services

        return build_aws_services(settings, **overrides)
    return build_local_services(settings, **overrides)


class HomeInUse(RuntimeError):
    """Another videobot process is running on the same VIDEOBOT_HOME."""


LOCK_FILE = "videobot.lock"
UPKEEP_INTERVAL_S = 60.0  # how often the local backend reconciles its renders and slow work
STALE_AFTER_S = 120.0  # an active render this process doesn't know, untouched for this long, was lost


def hold_home(home: Path) -> Callable[[], None]:
    """Take `home` for this process (an OS lock, released when the process ends, however it ends):
    two bots on one home would each run renders the other can't cancel, and each would take the
    other's renders for lost. Returns the release; HomeInUse if another process holds it."""
    home.mkdir(parents=True, exist_ok=True)
    path = home / LOCK_FILE
    handle = path.open("a+")
    try:
        import fcntl

        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except ImportError:  # Windows: no flock; one bot per home is then up to you
        pass
    except OSError:
        handle.close()
        raise HomeInUse(
            f"another videobot is already running with its home at {home.resolve()} (it holds {path.name}). "
            "Stop it first, or give this one its own VIDEOBOT_HOME."
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle.close


class LocalUpkeep:
    """What the AWS backend's sweeper and dead-letter handler do, for the local backend: at start-up
    and then every minute, renders a restart cut off are ended with an explanation (their orphaned
    processes killed first), renders whose end couldn't be recorded are recorded, and requests whose
    slow work was cut off are explained (bot.sweeper, bot.unfinished)."""

    def __init__(self, services: Services, launcher: Any, pending: Any) -> None:
        self.services, self.launcher, self.pending = services, launcher, pending
        self.started_at = services.clock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def at_start(self) -> None:
        self.launcher.kill_orphans()
        self.run(stale_after_s=0.0)

    def run(self, *, stale_after_s: float = STALE_AFTER_S) -> None:
        from bot.sweeper import reconcile_local_renders
        from bot.unfinished import explain_pending_requests

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


def build_local_services(
    settings: Settings,
    *,
    refiner: Refiner | None = None,
    upkeep: bool = True,
    **overrides: Any,
) -> Services:
    """The embedded defaults: everything under `settings.home`, renders in a child process. The home
    is this process's alone (HomeInUse otherwise); what a previous run left unfinished there is
    reconciled before this returns, and again every minute (`upkeep`)."""
    from bot.blobs.filesystem import FilesystemBlobStore
    from bot.content_guard import build_content_guard
    from bot.events import handle_job_event
    from bot.jobs.local import LocalJobLauncher
    from bot.refiner import build_refiner
    from bot.store.sqlite import SqliteSessionStore

    home = settings.home
    release_home = hold_home(home)
    store = SqliteSessionStore(home / "sessions.db")
    blobs = FilesystemBlobStore(home / "blobs")
    services: Services

    def report(event: dict[str, Any]) -> None:
        handle_job_event(event, services)

    launcher = LocalJobLauncher(
        root=home / "jobs",
        blobs=blobs,
        report=report,
        model_cache=settings.model_cache,
    )
    overrides.setdefault("guard", build_content_guard(settings))
    services = Services(
        settings=settings,
        chat=SlackChat(make_slack_client(settings.slack_bot_token, settings.slack_api_url)),
        store=store,
        blobs=blobs,
        launcher=launcher,
        refiner=refiner or build_refiner(settings),
        closers=[release_home, store.close, launcher.shutdown],
        pending=store,
        **overrides,
    )
    if upkeep:
        keeper = LocalUpkeep(services, launcher, store)
        keeper.at_start()
        keeper.start()
        services.closers.append(keeper.stop)
    return services
