"""Settings, read once from the environment at the edge and handed around as one frozen object."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bot.conversation.costs import DEFAULT_PRICES_PER_HOUR, Pricing
from bot.conversation.limits import Limits, LimitsError
from processing_job.models import TINY_MODEL, resolve_model

if TYPE_CHECKING:
    from bot.runtime.aws_settings import AwsSettings

DEFAULT_BEDROCK_MODEL = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"


class ConfigError(ValueError):
    pass


def _split(value: str) -> frozenset[str]:
    return frozenset(part.strip() for part in value.split(",") if part.strip())


@dataclass(frozen=True)
class Settings:
    """Everything configurable about the bot. Secrets are kept out of repr so they never reach a log."""

    backend: str = "local"  # "local" (SQLite, a folder, a local job runner) or "aws"
    slack_bot_token: str = field(default="", repr=False)
    slack_signing_secret: str = field(default="", repr=False)
    slack_app_token: str = field(default="", repr=False)  # Socket Mode only
    slack_api_url: str | None = None  # a local Slack stand-in, e.g. http://127.0.0.1:8765/api/
    home: Path = Path("var")  # local state: sessions.db, blobs/, jobs/
    model_cache: Path = Path("var/models")  # weights (and the built tiny model) for local renders
    command: str = "/video"
    default_model: str = TINY_MODEL
    refiner: str = "offline"  # "offline" or "bedrock"
    bedrock_model_id: str = DEFAULT_BEDROCK_MODEL
    guardrail_id: str | None = None
    guardrail_version: str | None = None
    admins: frozenset[str] = frozenset()
    limits: Limits = field(default_factory=Limits)
    aws: AwsSettings | None = None  # set when backend == "aws"
    pricing: Pricing = field(default_factory=Pricing)  # what renders cost, shown before and after
    # Lambda mode: ack and slow work are separate invocations (lazy listeners).
    process_before_response: bool = False
    # Pictures and videos in channels start a session when the bot is mentioned ("mention"), or always
    # ("all"); a channel chooses for itself with `/video channel pictures all|mention`.
    channel_pictures: str = "mention"
    # Local renders: a worker keeps the pipeline loaded this long after a render (0: a process per
    # render). On AWS the same variable is the warm job's idle window (aws_settings.py).
    warm_idle_s: float = 300.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        backend = env.get("VIDEOBOT_BACKEND", "local")
        if backend not in ("local", "aws"):
            raise ConfigError(f"VIDEOBOT_BACKEND must be 'local' or 'aws', not '{backend}'.")
        default_model = env.get("VIDEOBOT_MODEL", TINY_MODEL if backend == "local" else "cogvideox-5b")
        try:
            limits = Limits.from_env(env)
        except LimitsError as error:
            raise ConfigError(str(error)) from None
        aws = None
        if backend == "aws":
            from bot.runtime.aws_settings import AwsConfigError, AwsSettings

            try:
                aws = AwsSettings.from_env(env)
            except AwsConfigError as error:
                raise ConfigError(str(error)) from None
        settings = cls(
            backend=backend,
            slack_bot_token=env.get("SLACK_BOT_TOKEN", ""),
            slack_signing_secret=env.get("SLACK_SIGNING_SECRET", ""),
            slack_app_token=env.get("SLACK_APP_TOKEN", ""),
            slack_api_url=env.get("SLACK_API_URL") or None,
            home=Path(env.get("VIDEOBOT_HOME", "var")),
            model_cache=Path(env.get("VIDEOBOT_MODEL_CACHE", "var/models")),
            command=env.get("VIDEOBOT_COMMAND", "/video"),
            default_model=default_model,
            refiner=env.get("VIDEOBOT_REFINER", "offline"),
            bedrock_model_id=env.get("VIDEOBOT_BEDROCK_MODEL_ID") or DEFAULT_BEDROCK_MODEL,
            guardrail_id=env.get("VIDEOBOT_GUARDRAIL_ID") or None,
            guardrail_version=env.get("VIDEOBOT_GUARDRAIL_VERSION") or None,
            admins=_split(env.get("VIDEOBOT_ADMINS", "")),
            limits=limits,
            aws=aws,
            pricing=_pricing(env, aws),
            process_before_response=backend == "aws",
            channel_pictures=env.get("VIDEOBOT_CHANNEL_PICTURES", "mention"),
            warm_idle_s=_warm_idle(env),
        )
        settings.validate()
        return settings

    def validate(self) -> None:
        try:
            resolve_model(self.default_model)
        except ValueError as error:
            raise ConfigError(f"VIDEOBOT_MODEL: {error}") from None
        if self.refiner not in ("offline", "bedrock"):
            raise ConfigError(f"VIDEOBOT_REFINER must be 'offline' or 'bedrock', not '{self.refiner}'.")
        if self.channel_pictures not in ("mention", "all"):
            raise ConfigError(
                f"VIDEOBOT_CHANNEL_PICTURES must be 'mention' or 'all', not '{self.channel_pictures}'."
            )
        if not self.command.startswith("/"):
            raise ConfigError(f"VIDEOBOT_COMMAND must start with '/', not '{self.command}'.")


def _warm_idle(env: Mapping[str, str]) -> float:
    raw = env.get("VIDEOBOT_WARM_IDLE_S", "").strip()
    try:
        idle = float(raw) if raw else Settings.warm_idle_s
    except ValueError:
        raise ConfigError(f"VIDEOBOT_WARM_IDLE_S must be a number of seconds, not '{raw}'.") from None
    if idle < 0:
        raise ConfigError("VIDEOBOT_WARM_IDLE_S can't be negative (0: a process per render).")
    return idle


PRICES_ENV = "VIDEOBOT_INSTANCE_PRICES"


def _pricing(env: Mapping[str, str], aws: AwsSettings | None) -> Pricing:
    """Local renders cost time only; on AWS each model's instance at its price per hour (SageMaker
    processing's on-demand rates unless `VIDEOBOT_INSTANCE_PRICES` gives others, as a JSON object)."""
    if aws is None:
        return Pricing(local=True)
    from bot.runtime.aws_settings import CPU_INSTANCE, instance_type_for
    from processing_job.models import REGISTRY

    prices = dict(DEFAULT_PRICES_PER_HOUR)
    if env.get(PRICES_ENV):
        try:
            chosen = json.loads(env[PRICES_ENV])
        except ValueError:
            chosen = None
        if not isinstance(chosen, dict) or not all(
            isinstance(k, str)
            and isinstance(v, int | float)
            and not isinstance(v, bool)
            and math.isfinite(v)
            and v >= 0
            for k, v in chosen.items()
        ):
            raise ConfigError(f"{PRICES_ENV} must be a JSON object of instance type -> US dollars per hour.")
        prices.update({k: float(v) for k, v in chosen.items()})
    instances = {key: instance_type_for(info, aws.instance_types) for key, info in REGISTRY.items()}
    return Pricing(local=False, per_hour=prices, instances=instances, join_instance=CPU_INSTANCE)
