"""The composition root: every adapter the app uses, chosen once from the settings and handed to
whatever needs it (the job-event handler to the launcher, the chat to the use cases...).

Local is the default (SQLite, a folder, the local job runner, the offline refiner); `aws` swaps in
DynamoDB, S3, SageMaker and Bedrock behind the same ports. boto3 clients are made on first use: the
Slack ack path, which must answer within 3 seconds, needs none of them.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bot.conversation.ports import (
    ContentGuard,
    GuardVerdict,
    Refinement,
    Refiner,
    RefineRequest,
    ShotList,
    ShotListRequest,
)
from bot.jobs.delivery import handle_job_event
from bot.runtime.logs import register_secrets
from bot.runtime.services import Services
from bot.runtime.settings import ConfigError, Settings
from bot.slack.chat import SlackChat, make_slack_client

log = logging.getLogger(__name__)


def build_services(settings: Settings, **overrides: Any) -> Services:
    if settings.backend == "aws":
        return build_aws_services(settings, **overrides)
    return build_local_services(settings, **overrides)


class JobEventReport:
    """The job-event handler a launcher reports to (state changes and progress -> Slack), bound to
    the `Services` once they are built: the launcher is one of them."""

    def __init__(self) -> None:
        self.services: Services | None = None

    def __call__(self, event: dict[str, Any]) -> None:
        if self.services is None:
            raise RuntimeError("a job event arrived before the services were built")
        handle_job_event(event, self.services)


def assemble(settings: Settings, report: JobEventReport, **adapters: Any) -> Services:
    """The `Services` over `adapters`, with Slack's client from the settings, and the launcher's
    job-event handler (`report`) bound to them."""
    services = Services(
        settings=settings,
        chat=SlackChat(make_slack_client(settings.slack_bot_token, settings.slack_api_url)),
        **adapters,
    )
    report.services = services
    return services


def build_refiner(settings: Settings) -> Refiner:
    """The configured refiner: Claude on Bedrock (the offline refiner answering when it can't), or
    the offline refiner alone."""
    from bot.adapters.refiner import FallbackRefiner
    from bot.adapters.refiner.offline import OfflineRefiner

    if settings.refiner == "bedrock":
        from bot.adapters.refiner.bedrock import BedrockRefiner

        return FallbackRefiner(BedrockRefiner.from_settings(settings), OfflineRefiner())
    return OfflineRefiner()


def build_content_guard(settings: Settings) -> ContentGuard:
    """The Bedrock Guardrail when one is configured, else the local twin (which passes everything)."""
    if settings.guardrail_id:
        from bot.adapters.content_guard.bedrock import BedrockContentGuard

        return BedrockContentGuard.from_settings(settings)
    from bot.adapters.content_guard.local import LocalContentGuard

    return LocalContentGuard()


# The local backend


class HomeInUse(RuntimeError):
    """Another videobot process is running on the same VIDEOBOT_HOME."""


LOCK_FILE = "videobot.lock"


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
    from bot.adapters.blobs.filesystem import FilesystemBlobStore
    from bot.adapters.store.sqlite import SqliteSessionStore
    from bot.jobs.launchers.local import LocalJobLauncher

    home = settings.home
    release_home = hold_home(home)
    store = SqliteSessionStore(home / "sessions.db")
    blobs = FilesystemBlobStore(home / "blobs")
    report = JobEventReport()
    launcher = LocalJobLauncher(
        root=home / "jobs",
        blobs=blobs,
        report=report,
        model_cache=settings.model_cache,
    )
    services = assemble(
        settings,
        report,
        store=store,
        blobs=blobs,
        launcher=launcher,
        refiner=refiner or build_refiner(settings),
        closers=[release_home, store.close, launcher.shutdown],
        pending=store,
        **{"guard": build_content_guard(settings), **overrides},
    )
    if upkeep:
        from bot.runtime.upkeep import LocalUpkeep

        keeper = LocalUpkeep(services, launcher, store)
        keeper.at_start()
        keeper.start()
        services.closers.append(keeper.stop)
    return services


# The AWS backend

SECRET_MAX_AGE_S = 300  # a rotated Slack secret is picked up within five minutes


@dataclass(frozen=True)
class SlackSecrets:
    signing_secret: str
    bot_token: str

    def __repr__(self) -> str:
        return "SlackSecrets(<redacted>)"


class LazyClient:
    """A boto3 client made on first use (building one loads its service model: tens of ms)."""

    def __init__(self, session: Any, service: str, config: Any = None) -> None:
        self._session, self._service, self._config = session, service, config
        self._client: Any = None
        self._lock = threading.Lock()

    @property
    def client(self) -> Any:
        if self._client is None:
            with self._lock:  # boto3 sessions aren't safe to build clients from concurrently
                if self._client is None:
                    self._client = self._session.client(self._service, config=self._config)
        return self._client

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)


class DeferredRefiner:
    """The configured refiner, built when the first prompt is written (in a lazy listener), so a
    cold start's ack doesn't wait for a Bedrock client it won't use."""

    def __init__(self, settings: Settings) -> None:
        self.name = settings.refiner
        self._settings = settings
        self._refiner: Refiner | None = None
        self._lock = threading.Lock()

    def refine(self, request: RefineRequest, on_text: Callable[[str], None] | None = None) -> Refinement:
        return self._built().refine(request, on_text)

    def shot_list(self, request: ShotListRequest) -> ShotList:
        return self._built().shot_list(request)

    def _built(self) -> Refiner:
        with self._lock:
            if self._refiner is None:
                self._refiner = build_refiner(self._settings)
            return self._refiner


class DeferredContentGuard:
    """The configured content guard, built when it is first asked (in a lazy listener), like the refiner."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._guard: ContentGuard | None = None
        self._lock = threading.Lock()

    def _built(self) -> ContentGuard:
        with self._lock:
            if self._guard is None:
                self._guard = build_content_guard(self._settings)
            return self._guard

    def check_text(self, texts: Sequence[str]) -> GuardVerdict:
        return self._built().check_text(texts)

    def check_image(self, data: bytes, media_type: str) -> GuardVerdict:
        return self._built().check_image(data, media_type)


def boto_config() -> Any:
    from botocore.config import Config

    return Config(
        retries={"mode": "standard", "total_max_attempts": 5},
        connect_timeout=5,
        read_timeout=60,
        user_agent_extra="videobot",
    )


def fetch_slack_secrets(secret_arn: str, provider: Any) -> SlackSecrets:
    """The Slack secret (JSON: signing_secret, bot_token), through Powertools' cached provider."""
    value = provider.get(secret_arn, transform="json", max_age=SECRET_MAX_AGE_S)
    if not isinstance(value, dict) or not value.get("signing_secret") or not value.get("bot_token"):
        raise ConfigError(
            "The Slack secret must be JSON with `signing_secret` and `bot_token` (see the README)."
        )
    secrets = SlackSecrets(str(value["signing_secret"]), str(value["bot_token"]))
    register_secrets([secrets.signing_secret, secrets.bot_token])
    return secrets


def secrets_provider(session: Any) -> Any:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    return SecretsProvider(boto3_client=session.client("secretsmanager", config=boto_config()))


def with_slack_secrets(settings: Settings, secrets: SlackSecrets) -> Settings:
    return replace(settings, slack_signing_secret=secrets.signing_secret, slack_bot_token=secrets.bot_token)


def build_aws_services(
    settings: Settings,
    *,
    refiner: Refiner | None = None,
    session: Any = None,
    **overrides: Any,
) -> Services:
    aws = settings.aws
    if aws is None:
        raise ConfigError("The AWS backend needs its settings (VIDEOBOT_TABLE and friends).")
    import boto3

    from bot.adapters.blobs.s3 import S3BlobStore
    from bot.adapters.store.dynamodb import DynamoDbSessionStore
    from bot.jobs.capacity import CapacityQueue
    from bot.jobs.launchers.sagemaker import SageMakerJobLauncher

    session = session or boto3.session.Session()
    if not (settings.slack_bot_token and settings.slack_signing_secret):
        settings = with_slack_secrets(
            settings, fetch_slack_secrets(aws.slack_secret_arn, secrets_provider(session))
        )
    register_secrets([settings.slack_bot_token, settings.slack_signing_secret])
    config = boto_config()
    store = DynamoDbSessionStore(aws.table, LazyClient(session, "dynamodb", config))
    blobs = S3BlobStore(aws.bucket, LazyClient(session, "s3", config))
    report = JobEventReport()
    launcher = SageMakerJobLauncher(
        settings=aws,
        client=LazyClient(session, "sagemaker", config),
        blobs=blobs,
        queue=CapacityQueue(
            aws.capacity_queue_url, LazyClient(session, "sqs", config), first_delay_s=aws.capacity_retry_s
        ),
        store=store,
        report=report,
    )
    return assemble(
        settings,
        report,
        store=store,
        blobs=blobs,
        launcher=launcher,
        refiner=refiner or DeferredRefiner(settings),
        **{"guard": DeferredContentGuard(settings), **overrides},
    )
