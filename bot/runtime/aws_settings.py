"""Where the bot's AWS resources are: the names the CDK stack hands the Lambda functions.

The infrastructure sets these environment variables; the AWS adapters read them once.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.jobs.messages import JOB_NAME_PREFIX, JOB_NAME_PREFIX_ENV
from processing_job.models import JOIN, REGISTRY, ModelInfo

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
# Added with the AWS backends (issue 5); all optional.
SWEEP_STALE_AFTER_ENV = "VIDEOBOT_SWEEP_STALE_AFTER_S"  # a render this long without news is checked
MAX_QUEUE_WAIT_ENV = "VIDEOBOT_MAX_QUEUE_WAIT_S"  # a render waiting longer for capacity is given up
CAPACITY_RETRY_ENV = "VIDEOBOT_CAPACITY_RETRY_S"  # first back-off of a render waiting for capacity

# Staged weights: "auto" asks S3 at launch whether models/<key>/ holds anything (cached a while);
# "staged" always mounts them (hub offline); "hub" never does (the job downloads to its volume).
WEIGHTS_SOURCE_ENV = "VIDEOBOT_WEIGHTS_SOURCE"
WEIGHTS_SOURCES = ("auto", "staged", "hub")

# Warm renders (issue 17); all optional.
WARM_IDLE_ENV = "VIDEOBOT_WARM_IDLE_S"  # how long a job waits for another render; 0: one render per job
WARM_WAIT_ENV = "VIDEOBOT_WARM_WAIT_S"  # a render waits this long for a warm job before a new one starts
JOB_COST_CAP_ENV = "VIDEOBOT_JOB_COST_CAP_USD"  # a warm job takes no render that would cost more; 0: none
# "ranged": the job reads the staged weights itself (parallel ranged GETs, overlapping its start);
# "file": SageMaker copies them in before the container starts (File mode), the fallback.
WEIGHTS_READ_ENV = "VIDEOBOT_WEIGHTS_READ"
WEIGHTS_READS = ("ranged", "file")

MAX_SQS_DELAY_S = 900
# SageMaker job names: letters, digits and hyphens, at most 63. A job id is up to ~35 characters
# (bot/conversation/sessions.job_id_for), so a prefix gets at most 24.
JOB_NAME_PREFIX_PATTERN = re.compile(r"^[a-z0-9](-?[a-z0-9])*-$")
MAX_JOB_NAME_PREFIX = 24


def job_name_prefix_for(stack_name: str) -> str:
    """One stack's job-name prefix: its name in letters (readable in the console), then six digits
    of a digest of the whole name (unique to it), e.g. `videobot-staging-123456-`.

    Letters, then digits: where one prefix has its digits, another's letters or hyphen stand, so
    no stack's prefix is the start of another stack's job names (EventBridge matches by prefix).
    """
    slug = re.sub(r"[^a-z]+", "-", stack_name.lower()).strip("-")[:16].strip("-") or "videobot"
    digest = int(hashlib.sha256(stack_name.encode()).hexdigest(), 16) % 10**6
    return f"{slug}-{digest:06d}-"


DEFAULT_INSTANCE_TYPES = {
    "cogvideox-2b": "ml.g5.2xlarge",
    "cogvideox-5b": "ml.g6e.2xlarge",
}
# For a model no setting names: the random-weight test model on CPU (a cheap end-to-end smoke test),
# a 24 GB A10G where the registry says that is enough, else a 48 GB L40S.
CPU_INSTANCE, GPU_24GB_INSTANCE, GPU_48GB_INSTANCE = "ml.m5.xlarge", "ml.g5.2xlarge", "ml.g6e.2xlarge"


def instance_type_for(info: ModelInfo, chosen: Mapping[str, str]) -> str:
    """The instance a model's renders run on: the configured one, else one that fits it."""
    if chosen.get(info.key):
        return chosen[info.key]
    if info.built_locally:
        return CPU_INSTANCE
    # 22 GB: some headroom on a 24 GB card for the VAE decode and CUDA itself.
    return GPU_24GB_INSTANCE if 0 < info.min_gpu_memory_gb <= 22 else GPU_48GB_INSTANCE


def job_instance_type(info: ModelInfo, mode: str, chosen: Mapping[str, str]) -> str:
    """The instance a job runs on: a join (a storyboard's cut) renders nothing and loads no model, so
    it runs ffmpeg on a CPU instance; every other job on its model's (a stages-only job too: its
    upscaling runs on the GPU)."""
    return CPU_INSTANCE if mode == JOIN else instance_type_for(info, chosen)


def instance_types_in_use(chosen: Mapping[str, str] | None = None) -> list[str]:
    """Every instance type a render may ask for (what the stack's IAM condition must allow): each
    model's, and the CPU instance joins run on."""
    merged = {**DEFAULT_INSTANCE_TYPES, **(chosen or {})}
    return sorted({instance_type_for(info, merged) for info in REGISTRY.values()} | {CPU_INSTANCE})


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
    sweep_stale_after_s: int = 900
    max_queue_wait_s: int = 6 * 3600
    capacity_retry_s: int = 30
    job_name_prefix: str = JOB_NAME_PREFIX
    weights_source: str = "auto"
    warm_idle_s: int = 300
    warm_wait_s: int = 120
    job_cost_cap_usd: float = 10.0
    weights_read: str = "ranged"

    def job_budget_s(self, price_per_hour: float | None) -> float:
        """The seconds of work a job may take on: MaxRuntime less a margin (to finish and upload), and
        no more than the cost cap buys at the instance's price (`Settings.pricing`; None: unknown)."""
        budget = float(self.max_runtime_s - min(300, self.max_runtime_s // 10))
        price = price_per_hour or 0.0
        if self.job_cost_cap_usd > 0 and price > 0:
            budget = min(budget, self.job_cost_cap_usd / price * 3600)
        return budget

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
            chosen_types = json.loads(env.get(INSTANCE_TYPES_ENV) or "{}")
            max_runtime = int(env.get(MAX_RUNTIME_ENV) or 3600)
            volume = int(env.get(VOLUME_SIZE_ENV) or 100)
            stale_after = int(env.get(SWEEP_STALE_AFTER_ENV) or cls.sweep_stale_after_s)
            max_queue_wait = int(env.get(MAX_QUEUE_WAIT_ENV) or cls.max_queue_wait_s)
            capacity_retry = int(env.get(CAPACITY_RETRY_ENV) or cls.capacity_retry_s)
            warm_idle = int(env.get(WARM_IDLE_ENV) or cls.warm_idle_s)
            warm_wait = int(env.get(WARM_WAIT_ENV) or cls.warm_wait_s)
            cost_cap = float(env.get(JOB_COST_CAP_ENV) or cls.job_cost_cap_usd)
        except ValueError as error:
            raise AwsConfigError(f"Bad job setting: {error}") from None
        if not isinstance(chosen_types, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in chosen_types.items()
        ):
            raise AwsConfigError(f"{INSTANCE_TYPES_ENV} must be a JSON object of model key -> instance type.")
        instance_types = {**DEFAULT_INSTANCE_TYPES, **chosen_types}
        subnets = tuple(s for s in (env.get(SUBNETS_ENV) or "").split(",") if s)
        security_groups = tuple(s for s in (env.get(SECURITY_GROUPS_ENV) or "").split(",") if s)
        if subnets and not security_groups:
            raise AwsConfigError(f"{SUBNETS_ENV} needs {SECURITY_GROUPS_ENV} too (a VPC job needs both).")
        if min(max_runtime, volume) < 1 or min(stale_after, max_queue_wait, capacity_retry) < 0:
            raise AwsConfigError("Job runtime and volume must be positive; waiting times can't be negative.")
        prefix = env.get(JOB_NAME_PREFIX_ENV) or JOB_NAME_PREFIX
        if not JOB_NAME_PREFIX_PATTERN.match(prefix) or len(prefix) > MAX_JOB_NAME_PREFIX:
            raise AwsConfigError(
                f"{JOB_NAME_PREFIX_ENV} must be lowercase letters, digits and hyphens ending in '-', "
                f"at most {MAX_JOB_NAME_PREFIX} characters; not {prefix!r}."
            )
        weights_source = env.get(WEIGHTS_SOURCE_ENV) or "auto"
        if weights_source not in WEIGHTS_SOURCES:
            raise AwsConfigError(f"{WEIGHTS_SOURCE_ENV} must be one of {', '.join(WEIGHTS_SOURCES)}.")
        if min(warm_idle, warm_wait) < 0 or not 0 <= cost_cap < math.inf:  # NaN fails it too
            raise AwsConfigError(
                "The warm window and the wait for a warm job can't be negative, and the cost cap must be "
                "a number of US dollars (0: none)."
            )
        weights_read = env.get(WEIGHTS_READ_ENV) or "ranged"
        if weights_read not in WEIGHTS_READS:
            raise AwsConfigError(f"{WEIGHTS_READ_ENV} must be one of {', '.join(WEIGHTS_READS)}.")
        if capacity_retry > MAX_SQS_DELAY_S:
            raise AwsConfigError(
                f"{CAPACITY_RETRY_ENV} can be at most {MAX_SQS_DELAY_S} (SQS's longest delay)."
            )
        return cls(
            **{attr: env[name] for attr, name in required.items()},
            instance_types=instance_types,
            max_runtime_s=max_runtime,
            volume_gb=volume,
            subnets=subnets,
            security_groups=security_groups,
            models_prefix=env.get(MODELS_PREFIX_ENV) or "models",
            event_bus=env.get(EVENT_BUS_ENV) or "default",
            sweep_stale_after_s=stale_after,
            max_queue_wait_s=max_queue_wait,
            capacity_retry_s=capacity_retry,
            job_name_prefix=prefix,
            weights_source=weights_source,
            warm_idle_s=warm_idle,
            warm_wait_s=warm_wait,
            job_cost_cap_usd=cost_cap,
            weights_read=weights_read,
        )
