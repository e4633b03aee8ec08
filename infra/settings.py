"""The deployment's knobs, read from CDK context (`cdk.json`, or `-c videobot:<name>=<value>`).

Every key is `videobot:<field>`. Values come as JSON from cdk.json and as strings from `-c`, so each
is parsed from either; anything wrong stops the synth with a sentence naming the key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from bot.aws_config import DEFAULT_INSTANCE_TYPES
from bot.config import DEFAULT_BEDROCK_MODEL
from bot.limits import Limits
from infra.bedrock import model_access
from processing_job.models import REGISTRY, resolve_model

CONTEXT_PREFIX = "videobot:"
REFINERS = ("bedrock", "offline")
INSTANCE_TYPE_PATTERN = re.compile(r"^ml\.[a-z0-9]+\.[a-z0-9]+$")
SLACK_ID_PATTERN = re.compile(r"^[A-Z0-9]{2,}$")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
OPTIONAL_TEXT = ("guardrail_id", "guardrail_version", "alarm_email")
# CloudWatch Logs takes these retentions only (days -> CDK's RetentionDays member).
LOG_RETENTIONS = {
    1: "ONE_DAY",
    3: "THREE_DAYS",
    5: "FIVE_DAYS",
    7: "ONE_WEEK",
    14: "TWO_WEEKS",
    30: "ONE_MONTH",
    60: "TWO_MONTHS",
    90: "THREE_MONTHS",
    120: "FOUR_MONTHS",
    150: "FIVE_MONTHS",
    180: "SIX_MONTHS",
    365: "ONE_YEAR",
    400: "THIRTEEN_MONTHS",
    545: "EIGHTEEN_MONTHS",
    731: "TWO_YEARS",
    1096: "THREE_YEARS",
    1827: "FIVE_YEARS",
    2192: "SIX_YEARS",
    2557: "SEVEN_YEARS",
    2922: "EIGHT_YEARS",
    3288: "NINE_YEARS",
    3653: "TEN_YEARS",
}
QUOTA_NAMES = ("per_user_concurrent", "per_user_daily", "workspace_concurrent", "max_steps")


class SettingsError(ValueError):
    pass


def default_instance_types() -> dict[str, str]:
    """A GPU for every model the cloud can render: 24 GB (A10G, g5) or 48 GB (L40S, g6e) as it needs,
    with the bot's own defaults first."""
    fits = {
        key: "ml.g5.2xlarge" if info.min_gpu_memory_gb <= 24 else "ml.g6e.2xlarge"
        for key, info in REGISTRY.items()
        if not info.built_locally and info.min_gpu_memory_gb <= 48
    }
    return {**fits, **DEFAULT_INSTANCE_TYPES}


@dataclass(frozen=True)
class StackSettings:
    # The model a plain `/video` renders with, and the SageMaker instance type each model runs on.
    default_model: str = "cogvideox-5b"
    instance_types: Mapping[str, str] = field(default_factory=default_instance_types)
    job_max_runtime_s: int = 3600
    job_volume_gb: int = 100
    # Jobs in private subnets of a new VPC that reach AWS only through VPC endpoints. Staged weights
    # are then required: the job can't reach the Hugging Face hub.
    job_vpc: bool = False
    # "bedrock" writes prompts with Claude on Bedrock (needs model access); "offline" needs nothing.
    refiner: str = "bedrock"
    bedrock_model_id: str = DEFAULT_BEDROCK_MODEL
    # A guardrail of your own (id and version), or one the stack creates with sensible content
    # filters (infra/guardrail.py); either is applied to the prompts the Slack function writes.
    guardrail_id: str | None = None
    guardrail_version: str | None = None
    create_guardrail: bool = False
    # Who may render where, and how much (bot/limits.py); empty lists mean everyone, everywhere.
    allowed_channels: tuple[str, ...] = ()
    allowed_users: tuple[str, ...] = ()
    admins: tuple[str, ...] = ()
    quotas: Mapping[str, int] = field(
        default_factory=lambda: {name: getattr(Limits, name) for name in QUOTA_NAMES}
    )
    # Caps the Slack front door, so a flood of requests can't starve the account's other functions.
    # false: no reservation (for accounts whose Lambda concurrency quota is still the initial 10).
    slack_reserved_concurrency: int | None = 20
    upload_retention_days: int = 7  # images/
    render_retention_days: int = 30  # renders/ and specs/
    log_retention_days: int = 30
    alarm_email: str | None = None
    failed_renders_per_hour_alarm: int = 3

    @classmethod
    def from_context(cls, get: Callable[[str], Any]) -> StackSettings:
        """Build from a context lookup (`node.try_get_context`); missing keys keep their defaults."""
        values: dict[str, Any] = {}
        for item in fields(cls):
            raw = get(CONTEXT_PREFIX + item.name)
            if raw is not None:
                values[item.name] = _parse(item.name, raw)
        settings = cls(**values)
        settings.validate()
        return settings

    @property
    def limits(self) -> Limits:
        return Limits(
            allowed_channels=frozenset(self.allowed_channels),
            allowed_users=frozenset(self.allowed_users),
            **self.quotas,
        )

    def validate(self) -> None:
        problems: list[str] = []
        try:
            self._check_models()
        except SettingsError as error:
            problems.append(str(error))
        if self.refiner not in REFINERS:
            problems.append(
                f"{CONTEXT_PREFIX}refiner must be one of {', '.join(REFINERS)}, not '{self.refiner}'."
            )
        try:
            model_access(self.bedrock_model_id, partition="aws", region="any", account="any")
        except ValueError as error:
            problems.append(f"{CONTEXT_PREFIX}bedrock_model_id: {error}")
        if self.create_guardrail and self.guardrail_id:
            problems.append(
                f"Set {CONTEXT_PREFIX}create_guardrail or {CONTEXT_PREFIX}guardrail_id (your own), not both."
            )
        if bool(self.guardrail_id) != bool(self.guardrail_version):
            problems.append(
                f"Set both {CONTEXT_PREFIX}guardrail_id and {CONTEXT_PREFIX}guardrail_version, or neither."
            )
        for name in ("allowed_channels", "allowed_users", "admins"):
            bad = [value for value in getattr(self, name) if not SLACK_ID_PATTERN.match(value)]
            if bad:
                problems.append(
                    f"{CONTEXT_PREFIX}{name} takes Slack ids like C0123ABCD, not {', '.join(bad)}."
                )
        if set(self.quotas) != set(QUOTA_NAMES):
            problems.append(f"{CONTEXT_PREFIX}quotas needs exactly {', '.join(QUOTA_NAMES)}.")
        positive = {
            "job_max_runtime_s": self.job_max_runtime_s,
            "job_volume_gb": self.job_volume_gb,
            "upload_retention_days": self.upload_retention_days,
            "render_retention_days": self.render_retention_days,
            "failed_renders_per_hour_alarm": self.failed_renders_per_hour_alarm,
            **{f"quotas.{name}": value for name, value in self.quotas.items()},
        }
        if self.slack_reserved_concurrency is not None:
            positive["slack_reserved_concurrency"] = self.slack_reserved_concurrency
        problems += [
            f"{CONTEXT_PREFIX}{name} must be a whole number of at least 1, not {value!r}."
            for name, value in positive.items()
            if not isinstance(value, int) or isinstance(value, bool) or value < 1
        ]
        if not 1 <= self.job_max_runtime_s <= 5 * 24 * 3600:
            problems.append(f"{CONTEXT_PREFIX}job_max_runtime_s must be at most 432000 (SageMaker's 5 days).")
        if self.log_retention_days not in LOG_RETENTIONS:
            problems.append(
                f"{CONTEXT_PREFIX}log_retention_days must be one of CloudWatch's: "
                f"{', '.join(map(str, LOG_RETENTIONS))}; not {self.log_retention_days!r}."
            )
        if self.alarm_email is not None and not EMAIL_PATTERN.match(self.alarm_email):
            problems.append(f"{CONTEXT_PREFIX}alarm_email is not an email address: '{self.alarm_email}'.")
        if problems:
            raise SettingsError(" ".join(problems))

    def _check_models(self) -> None:
        try:
            default = resolve_model(self.default_model).key
        except ValueError as error:
            raise SettingsError(f"{CONTEXT_PREFIX}default_model: {error}") from None
        unknown = sorted(set(self.instance_types) - set(REGISTRY))
        if unknown:
            raise SettingsError(
                f"{CONTEXT_PREFIX}instance_types names models the registry lacks: {', '.join(unknown)}."
            )
        bad = sorted(t for t in self.instance_types.values() if not INSTANCE_TYPE_PATTERN.match(t))
        if bad:
            raise SettingsError(
                f"{CONTEXT_PREFIX}instance_types values are SageMaker types like ml.g6e.2xlarge, not {bad}."
            )
        if default not in self.instance_types:
            raise SettingsError(
                f"{CONTEXT_PREFIX}instance_types has no instance type for the default model {default}."
            )


def _parse(name: str, raw: Any) -> Any:
    """One context value as its field wants it; strings from `-c` are read as JSON when they are JSON."""
    value = raw
    if isinstance(raw, str):
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
    if name in ("allowed_channels", "allowed_users", "admins"):
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise SettingsError(f"{CONTEXT_PREFIX}{name} must be a list of Slack ids.")
        return tuple(value)
    if name in ("instance_types", "quotas"):
        if not isinstance(value, dict):
            raise SettingsError(f"{CONTEXT_PREFIX}{name} must be a JSON object.")
        if name == "instance_types":
            # Keys may be aliases ("5b"); the bot's table is keyed by registry keys.
            try:
                return {
                    **default_instance_types(),
                    **{resolve_model(k).key: str(v) for k, v in value.items()},
                }
            except ValueError as error:
                raise SettingsError(f"{CONTEXT_PREFIX}instance_types: {error}") from None
        return {**StackSettings().quotas, **value}
    if name in ("job_vpc", "create_guardrail"):
        if not isinstance(value, bool):
            raise SettingsError(f"{CONTEXT_PREFIX}{name} must be true or false.")
        return value
    if name == "slack_reserved_concurrency" and value in (False, 0, "none"):
        return None
    if name in OPTIONAL_TEXT:
        return str(value) if value not in ("", False) else None
    if name in ("default_model", "refiner", "bedrock_model_id"):
        return str(value)
    # The numbers: validate() names any that aren't whole and positive.
    return value
