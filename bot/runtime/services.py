"""`Services`: every adapter the app uses, behind its port, as the composition root
(bot.runtime.compose) hands them to the Slack listeners, the use cases and the job side."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.conversation.ports import BlobStore, ContentGuard, JobLauncher, Refiner, SessionStore
from bot.runtime.settings import Settings
from bot.slack.chat import SlackChat

if TYPE_CHECKING:
    from bot.runtime.lazy_work import PendingRecord


def random_seed() -> int:
    return secrets.randbelow(2**31)


def no_content_policy() -> ContentGuard:
    from bot.adapters.content_guard.local import LocalContentGuard

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
    # Locally, where slow work is recorded while it runs (bot.runtime.lazy_work); None on Lambda (its DLQ).
    pending: PendingRecord | None = None
    guard: ContentGuard = field(default_factory=no_content_policy)

    def close(self) -> None:
        for close in reversed(self.closers):
            close()
