"""`build_aws_services`: the same `Services` as locally, with every port on its AWS adapter.

DynamoDB for sessions, S3 for blobs, SageMaker (plus the SQS capacity queue) for renders, the
configured refiner, and Slack through the bot token from Secrets Manager. boto3 clients are made on
first use: the Slack ack path, which must answer within 3 seconds, needs none of them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from bot.chat import SlackChat, make_slack_client
from bot.config import ConfigError, Settings
from bot.logs import register_secrets
from bot.ports import ContentGuard, GuardVerdict, Refinement, Refiner, RefineRequest
from bot.services import Services

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
        with self._lock:
            if self._refiner is None:
                from bot.refiner import build_refiner

                self._refiner = build_refiner(self._settings)
        return self._refiner.refine(request, on_text)


class DeferredContentGuard:
    """The configured content guard, built when it is first asked (in a lazy listener), like the refiner."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._guard: ContentGuard | None = None
        self._lock = threading.Lock()

    def _built(self) -> ContentGuard:
        with self._lock:
            if self._guard is None:
                from bot.content_guard import build_content_guard

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

    from bot.blobs.s3 import S3BlobStore
    from bot.events import handle_job_event
    from bot.jobs.capacity import CapacityQueue
    from bot.jobs.sagemaker import SageMakerJobLauncher
    from bot.store.dynamodb import DynamoDbSessionStore

    session = session or boto3.session.Session()
    if not (settings.slack_bot_token and settings.slack_signing_secret):
        settings = with_slack_secrets(
            settings, fetch_slack_secrets(aws.slack_secret_arn, secrets_provider(session))
        )
    register_secrets([settings.slack_bot_token, settings.slack_signing_secret])
    config = boto_config()
    store = DynamoDbSessionStore(aws.table, LazyClient(session, "dynamodb", config))
    blobs = S3BlobStore(aws.bucket, LazyClient(session, "s3", config))
    services: Services

    def report(event: dict[str, Any]) -> None:
        handle_job_event(event, services)

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
    services = Services(
        settings=settings,
        chat=SlackChat(make_slack_client(settings.slack_bot_token, settings.slack_api_url)),
        store=store,
        blobs=blobs,
        launcher=launcher,
        refiner=refiner or DeferredRefiner(settings),
        **{"guard": DeferredContentGuard(settings), **overrides},
    )
    return services
