"""Which Bedrock ARNs a model id needs in a policy: the model asked for, nothing else."""

from __future__ import annotations

import pytest

from infra.bedrock import guardrail_arn, model_access

WHERE = {"partition": "aws", "region": "us-east-1", "account": "123456789012"}
SONNET = "anthropic.claude-sonnet-4-5-20250929-v1:0"


def test_a_cross_region_profile_needs_the_profile_here_and_its_model_in_any_region():
    access = model_access(f"us.{SONNET}", **WHERE)
    assert access.profile_arn == f"arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.{SONNET}"
    assert access.foundation_model_arns == (f"arn:aws:bedrock:*::foundation-model/{SONNET}",)


def test_a_global_profile_also_needs_the_region_less_model_arn():
    access = model_access(f"global.{SONNET}", **WHERE)
    assert f"arn:aws:bedrock:::foundation-model/{SONNET}" in access.foundation_model_arns


def test_a_foundation_model_id_needs_only_that_model_in_this_region():
    access = model_access("amazon.nova-lite-v1:0", **WHERE)
    assert access.profile_arn is None
    assert access.foundation_model_arns == (
        "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0",
    )


def test_a_profile_given_by_arn_is_read_as_its_id():
    arn = f"arn:aws:bedrock:us-east-1:123456789012:inference-profile/eu.{SONNET}"
    access = model_access(arn, **WHERE)
    assert access.profile_arn == arn
    assert access.foundation_model_arns == (f"arn:aws:bedrock:*::foundation-model/{SONNET}",)


def test_an_application_profile_is_refused_with_what_to_give_instead():
    arn = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123"
    with pytest.raises(ValueError, match="foundation model or inference profile id"):
        model_access(arn, **WHERE)


def test_a_guardrail_id_becomes_its_arn():
    assert guardrail_arn("gr0abc", **WHERE) == "arn:aws:bedrock:us-east-1:123456789012:guardrail/gr0abc"
