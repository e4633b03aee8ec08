"""Where the bot's AWS resources are: the names the CDK stack hands the Lambda functions.

The infrastructure sets these environment variables; the AWS adapters read them once.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

# Environment variable names: the contract between infra/ and the Lambda functions.
TABLE_ENV = "VIDEOBOT_TABLE"
BUCKET_ENV = "VIDEOBOT_BUCKET"
SLACK_SECRET_ENV = "VIDEOBOT_SLACK_SECRET_ARN"  # noqa: S105 - a variable name. JSON: {"signing_secret": "...", "bot_token": "xoxb-..."}
JOB_IMAGE_ENV = "VIDEOBOT_JOB_IMAGE_URI"
JOB_ROLE_ENV = "VIDEOBOT_JOB_ROLE_ARN"
CAPACITY_QUEUE_ENV = "VIDEOBOT_CAPACITY_QUEUE_URL"
INSTANCE_TYPES_ENV = "VIDEOBOT_JOB_INSTANCE_TYPES"  # JSON: {"cogvideox-5b": "ml.g6e.2xlarge", ...}
MAX_RUNTIME_ENV = "VIDEOBOT_JOB_MAX_RUNTIME_S"
VOLUME_SIZE_ENV = "VIDEOBOT_JOB_VOLUME_GB"
SUBNETS_ENV = "VIDEOBOT_JOB_SUBNETS"  # comma-separated; empty: no VPC
SECURITY_GROUPS_ENV = "VIDEOBOT_JOB_SECURITY_GROUPS"
MODELS_PREFIX_ENV = "VIDEOBOT_MODELS_PREFIX"  # staged weights: s3://<bucket>/<prefix>/<model key>/
EVENT_BUS_ENV = "VIDEOBOT_EVENT_BUS"  # where the job puts its progress events

DEFAULT_INSTANCE_TYPES = {
    "cogvideox-2b": "ml.g5.2xlarge",
    "cogvideox-5b": "ml.g6e.2xlarge",
}


class AwsConfigError(ValueError):
    pass


@dataclass(frozen=True)
class AwsSettings:
    table: str
    bucket: str
    slack_secret_arn: str
    job_image_uri: str
    job_role_arn: str
    capacity_queue_url: str
    instance_types: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_INSTANCE_TYPES))
    max_runtime_s: int = 3600
    volume_gb: int = 100
    subnets: tuple[str, ...] = ()
    security_groups: tuple[str, ...] = ()
    models_prefix: str = "models"
    event_bus: str = "default"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> AwsSettings:
        env = os.environ if env is None else env
        required = {
            "table": TABLE_ENV,
            "bucket": BUCKET_ENV,
            "slack_secret_arn": SLACK_SECRET_ENV,
            "job_image_uri": JOB_IMAGE_ENV,
            "job_role_arn": JOB_ROLE_ENV,
            "capacity_queue_url": CAPACITY_QUEUE_ENV,
        }
        missing = [name for name in required.values() if not env.get(name)]
        if missing:
            raise AwsConfigError(f"The AWS backend needs {', '.join(missing)} (set by the CDK stack).")
        try:
            instance_types = {**DEFAULT_INSTANCE_TYPES, **json.loads(env.get(INSTANCE_TYPES_ENV) or "{}")}
            max_runtime = int(env.get(MAX_RUNTIME_ENV) or 3600)
            volume = int(env.get(VOLUME_SIZE_ENV) or 100)
        except ValueError as error:
            raise AwsConfigError(f"Bad job setting: {error}") from None
        return cls(
            **{attr: env[name] for attr, name in required.items()},
            instance_types=instance_types,
            max_runtime_s=max_runtime,
            volume_gb=volume,
            subnets=tuple(s for s in (env.get(SUBNETS_ENV) or "").split(",") if s),
            security_groups=tuple(s for s in (env.get(SECURITY_GROUPS_ENV) or "").split(",") if s),
            models_prefix=env.get(MODELS_PREFIX_ENV) or "models",
            event_bus=env.get(EVENT_BUS_ENV) or "default",
        )
