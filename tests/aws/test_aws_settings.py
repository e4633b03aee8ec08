"""The environment contract between the CDK stack and the functions: read once, refused when wrong."""

from __future__ import annotations

import pytest

from bot.jobs.capacity import backoff_delay
from bot.runtime.aws_settings import AwsConfigError, AwsSettings

REQUIRED = {
    "VIDEOBOT_TABLE": "t",
    "VIDEOBOT_BUCKET": "b",
    "VIDEOBOT_SLACK_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:1:secret:s",
    "VIDEOBOT_JOB_IMAGE_URI": "1.dkr.ecr.us-east-1.amazonaws.com/job:1",
    "VIDEOBOT_JOB_ROLE_ARN": "arn:aws:iam::1:role/job",
    "VIDEOBOT_CAPACITY_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/1/q",
}


def test_the_defaults_fill_what_the_stack_leaves_out():
    settings = AwsSettings.from_env(REQUIRED)
    assert settings.instance_types["cogvideox-5b"] == "ml.g6e.2xlarge"
    assert (settings.max_runtime_s, settings.volume_gb, settings.subnets) == (3600, 100, ())
    assert (settings.sweep_stale_after_s, settings.max_queue_wait_s, settings.capacity_retry_s) == (
        900,
        21600,
        30,
    )


def test_every_missing_variable_is_named():
    with pytest.raises(AwsConfigError, match="VIDEOBOT_TABLE, VIDEOBOT_BUCKET"):
        AwsSettings.from_env({})


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("VIDEOBOT_JOB_INSTANCE_TYPES", '["ml.g5.2xlarge"]', "JSON object"),
        ("VIDEOBOT_JOB_INSTANCE_TYPES", "{not json", "Bad job setting"),
        ("VIDEOBOT_JOB_VOLUME_GB", "0", "positive"),
        ("VIDEOBOT_CAPACITY_RETRY_S", "1000", "at most 900"),
        ("VIDEOBOT_JOB_SUBNETS", "subnet-a", "VIDEOBOT_JOB_SECURITY_GROUPS"),
    ],
)
def test_a_wrong_setting_is_refused_with_the_reason(name, value, problem):
    with pytest.raises(AwsConfigError, match=problem):
        AwsSettings.from_env({**REQUIRED, name: value})


def test_waiting_renders_back_off_exponentially_up_to_fifteen_minutes():
    assert [backoff_delay(n) for n in (1, 2, 3, 4, 5, 6, 7)] == [30, 60, 120, 240, 480, 900, 900]
