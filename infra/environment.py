"""The environment of the bot's functions: every variable in one place, one line each.
(The guardrail's id and version go to the function that writes prompts only: infra/slack_front_door.py.)

The names are the bot's (bot/aws_config.py, bot/config.py, bot/limits.py); the values are this
stack's resources and settings. `Settings.from_env` reads them back on Lambda.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from bot.aws_config import (
    BUCKET_ENV,
    CAPACITY_QUEUE_ENV,
    EVENT_BUS_ENV,
    INSTANCE_TYPES_ENV,
    JOB_IMAGE_ENV,
    JOB_NAME_PREFIX_ENV,
    JOB_ROLE_ENV,
    MAX_RUNTIME_ENV,
    MODELS_PREFIX_ENV,
    SECURITY_GROUPS_ENV,
    SLACK_SECRET_ENV,
    SUBNETS_ENV,
    TABLE_ENV,
    VOLUME_SIZE_ENV,
    WEIGHTS_SOURCE_ENV,
)
from bot.logs import DEFAULT_SERVICE
from infra.settings import StackSettings
from infra.storage import MODELS_PREFIX


@dataclass(frozen=True)
class StackResources:
    """The names of what the stack made (CloudFormation tokens until deploy)."""

    table: str
    bucket: str
    slack_secret_arn: str
    job_image_uri: str
    job_role_arn: str
    capacity_queue_url: str
    job_name_prefix: str  # this stack's own (bot/aws_config.job_name_prefix_for)
    progress_bus: str  # the bus the jobs put their progress events on
    subnets: str = ""  # comma-separated; empty: jobs outside any VPC
    security_groups: str = ""


def bot_environment(settings: StackSettings, resources: StackResources) -> dict[str, str]:
    environment = {
        "VIDEOBOT_BACKEND": "aws",
        "POWERTOOLS_SERVICE_NAME": DEFAULT_SERVICE,
        # Where things are
        TABLE_ENV: resources.table,
        BUCKET_ENV: resources.bucket,
        SLACK_SECRET_ENV: resources.slack_secret_arn,
        JOB_IMAGE_ENV: resources.job_image_uri,
        JOB_ROLE_ENV: resources.job_role_arn,
        CAPACITY_QUEUE_ENV: resources.capacity_queue_url,
        MODELS_PREFIX_ENV: MODELS_PREFIX.rstrip("/"),
        EVENT_BUS_ENV: resources.progress_bus,
        SUBNETS_ENV: resources.subnets,
        SECURITY_GROUPS_ENV: resources.security_groups,
        # How renders run
        JOB_NAME_PREFIX_ENV: resources.job_name_prefix,
        # A job in the VPC can't reach the hub: always give it the staged folder, and fail plainly
        # when nothing was staged. Otherwise the launcher looks (staged if there, else the hub).
        WEIGHTS_SOURCE_ENV: "staged" if settings.job_vpc else "auto",
        "VIDEOBOT_MODEL": settings.default_model,
        INSTANCE_TYPES_ENV: json.dumps(dict(sorted(settings.instance_types.items())), separators=(",", ":")),
        MAX_RUNTIME_ENV: str(settings.job_max_runtime_s),
        VOLUME_SIZE_ENV: str(settings.job_volume_gb),
        # How prompts are written
        "VIDEOBOT_REFINER": settings.refiner,
        "VIDEOBOT_BEDROCK_MODEL_ID": settings.bedrock_model_id,
        # Who may render, where, and how much
        "VIDEOBOT_ADMINS": ",".join(settings.admins),
        "VIDEOBOT_ALLOWED_CHANNELS": ",".join(settings.allowed_channels),
        "VIDEOBOT_ALLOWED_USERS": ",".join(settings.allowed_users),
        "VIDEOBOT_USER_CONCURRENT": str(settings.quotas["per_user_concurrent"]),
        "VIDEOBOT_USER_DAILY": str(settings.quotas["per_user_daily"]),
        "VIDEOBOT_WORKSPACE_CONCURRENT": str(settings.quotas["workspace_concurrent"]),
        "VIDEOBOT_MAX_STEPS": str(settings.quotas["max_steps"]),
    }
    # Unset rather than empty: the bot reads both the same way.
    return {name: value for name, value in environment.items() if value != ""}
