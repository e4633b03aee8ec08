"""The `Services` object: every adapter the app uses, chosen once from the settings.

Local is the default (SQLite, a folder, the local job runner, the offline refiner); `aws` swaps in
DynamoDB, S3, SageMaker and Bedrock behind the same ports.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.chat import SlackChat, make_slack_client
from bot.config import Settings
from bot.ports import BlobStore, ContentGuard, JobLauncher, Refiner, SessionStore


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
    guard: ContentGuard = field(default_factory=no_content_policy)

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
    from bot.content_guard import build_content_guard
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
    overrides.setdefault("guard", build_content_guard(settings))
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
