"""The `Services` object: every adapter the app uses, chosen once from the settings.

Local is the default (SQLite, a folder, the local job runner, the offline refiner); `aws` swaps in
DynamoDB, S3, SageMaker and Bedrock behind the same ports.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.chat import SlackChat, make_slack_client
from bot.config import Settings
from bot.ports import BlobStore, JobLauncher, Refiner, SessionStore

if TYPE_CHECKING:
    from bot.lazy_work import PendingRecord


def random_seed() -> int:
    return secrets.randbelow(2**31)


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

    def close(self) -> None:
        for close in reversed(self.closers):
            close()


def build_services(settings: Settings, **overrides: Any) -> Services:
    if settings.backend == "aws":
        from bot.aws_services import build_aws_services

        return build_aws_services(settings, **overrides)
    return build_local_services(settings, **overrides)


def build_local_services(
    settings: Settings,
    *,
    refiner: Refiner | None = None,
    **overrides: Any,
) -> Services:
    """The embedded defaults: everything under `settings.home`, renders in a child process."""
    from bot.blobs.filesystem import FilesystemBlobStore
    from bot.events import handle_job_event
    from bot.jobs.local import LocalJobLauncher
    from bot.refiner import build_refiner
    from bot.store.sqlite import SqliteSessionStore

    home = settings.home
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
    services = Services(
        settings=settings,
        chat=SlackChat(make_slack_client(settings.slack_bot_token, settings.slack_api_url)),
        store=store,
        blobs=blobs,
        launcher=launcher,
        refiner=refiner or build_refiner(settings),
        closers=[store.close, launcher.shutdown],
        **overrides,
    )
    return services
