"""Each stack's job-name prefix (VIDEOBOT_JOB_NAME_PREFIX, set by the stack): how it is made from the
stack name, checked when the functions start, and used to read SageMaker's events back."""

from __future__ import annotations

import pytest

from bot.aws_config import AwsConfigError, AwsSettings, job_name_prefix_for
from bot.job_events import JOB_NAME_PREFIX_ENV, JobStateChange, parse_job_event, state_change_event

REQUIRED = {
    "VIDEOBOT_TABLE": "t",
    "VIDEOBOT_BUCKET": "b",
    "VIDEOBOT_SLACK_SECRET_ARN": "s",
    "VIDEOBOT_JOB_IMAGE_URI": "i",
    "VIDEOBOT_JOB_ROLE_ARN": "r",
    "VIDEOBOT_CAPACITY_QUEUE_URL": "q",
}


def test_a_prefix_is_the_stack_name_in_letters_then_six_digits_of_its_digest():
    assert job_name_prefix_for("Videobot-staging").startswith("videobot-staging-")
    assert len(job_name_prefix_for("Videobot-staging")) == len("videobot-staging-") + 7
    assert job_name_prefix_for("Videobot-staging") == job_name_prefix_for("Videobot-staging")


@pytest.mark.parametrize(
    "names",
    [
        ("Videobot", "Videobot-staging"),
        ("Videobot-staging", "Videobot-production"),
        ("Videobot2", "Videobot3"),  # the same letters: the digits tell them apart
        ("a", "a-b"),
    ],
)
def test_no_stacks_prefix_is_the_start_of_anothers(names):
    first, second = (job_name_prefix_for(name) for name in names)
    assert not first.startswith(second) and not second.startswith(first)


def test_every_prefix_leaves_room_for_a_job_id_in_sagemakers_63_characters():
    longest_job_id = "c0123456789ab-1700000000123456-r999"
    for name in ("Videobot", "a-very-long-stack-name-for-the-production-account-of-videobot", "123"):
        prefix = job_name_prefix_for(name)
        assert AwsSettings.from_env({**REQUIRED, JOB_NAME_PREFIX_ENV: prefix}).job_name_prefix == prefix
        assert len(prefix + longest_job_id) <= 63


def test_a_malformed_prefix_stops_the_function_at_start():
    with pytest.raises(AwsConfigError, match=JOB_NAME_PREFIX_ENV):
        AwsSettings.from_env({**REQUIRED, JOB_NAME_PREFIX_ENV: "Videobot_staging"})


def test_the_bot_reads_its_own_stacks_job_events_and_no_others(monkeypatch):
    mine, theirs = job_name_prefix_for("Videobot-staging"), job_name_prefix_for("Videobot-production")
    monkeypatch.setenv(JOB_NAME_PREFIX_ENV, mine)
    event = state_change_event("c1-1700000000000001-r1", "Completed")
    assert event["detail"]["ProcessingJobName"] == f"{mine}c1-1700000000000001-r1"
    assert parse_job_event(event) == JobStateChange(job_id="c1-1700000000000001-r1", status="Completed")
    event["detail"]["ProcessingJobName"] = f"{theirs}c1-1700000000000001-r1"
    assert parse_job_event(event) is None
