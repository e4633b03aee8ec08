"""The deployment's knobs: cdk.json's values, `-c` strings, and a clear sentence for each mistake."""

from __future__ import annotations

import pytest

from infra.app import project_context
from infra.settings import SettingsError, StackSettings
from processing_job.models import REGISTRY


def settings_from(**values: object) -> StackSettings:
    context = {f"videobot:{name}": value for name, value in values.items()}
    return StackSettings.from_context(context.get)


def test_cdk_json_holds_the_defaults_the_code_has():
    assert StackSettings.from_context(project_context().get) == StackSettings()


def test_every_model_the_cloud_can_render_has_an_instance_type():
    cloud_models = {key for key, info in REGISTRY.items() if not info.built_locally}
    assert cloud_models <= set(StackSettings().instance_types)


def test_models_bigger_than_an_a10g_get_a_48_gb_gpu():
    types = StackSettings().instance_types
    assert types["cogvideox-2b"] == "ml.g5.2xlarge"
    assert types["cogvideox-5b"] == "ml.g6e.2xlarge"
    assert types["cogvideox1.5-5b"] == "ml.g6e.2xlarge"


def test_an_instance_type_can_be_set_for_one_model_by_its_alias():
    settings = settings_from(instance_types='{"2b": "ml.g6.2xlarge"}')
    assert settings.instance_types["cogvideox-2b"] == "ml.g6.2xlarge"
    assert settings.instance_types["cogvideox-5b"] == "ml.g6e.2xlarge"


def test_values_given_with_dash_c_are_read_as_json_or_lists():
    settings = settings_from(
        job_vpc="true",
        job_max_runtime_s="1800",
        allowed_channels="C1111,C2222",
        quotas='{"per_user_daily": 5}',
    )
    assert settings.job_vpc is True
    assert settings.job_max_runtime_s == 1800
    assert settings.allowed_channels == ("C1111", "C2222")
    assert settings.quotas["per_user_daily"] == 5
    assert settings.quotas["workspace_concurrent"] == 4


def test_reserved_concurrency_can_be_switched_off():
    assert settings_from(slack_reserved_concurrency="false").slack_reserved_concurrency is None
    assert settings_from(slack_reserved_concurrency=False).slack_reserved_concurrency is None


def test_empty_optional_text_means_unset():
    settings = settings_from(guardrail_id="", guardrail_version="", alarm_email="")
    assert (settings.guardrail_id, settings.guardrail_version, settings.alarm_email) == (None, None, None)


def test_an_unknown_default_model_is_named_with_the_choices():
    with pytest.raises(SettingsError, match=r"videobot:default_model: I don't know the model 'sora'.*5b"):
        settings_from(default_model="sora")


def test_a_model_missing_from_the_registry_is_refused():
    with pytest.raises(SettingsError, match="instance_types"):
        settings_from(instance_types={"imagen": "ml.g5.2xlarge"})


def test_an_instance_type_that_is_not_a_sagemaker_one_is_refused():
    with pytest.raises(SettingsError, match=r"SageMaker types like ml\.g6e\.2xlarge"):
        settings_from(instance_types={"5b": "p4d.24xlarge"})


def test_a_guardrail_needs_its_version():
    with pytest.raises(SettingsError, match="guardrail_id and videobot:guardrail_version"):
        settings_from(guardrail_id="gr0abc")


def test_channels_must_be_slack_ids_not_names():
    with pytest.raises(SettingsError, match="allowed_channels takes Slack ids"):
        settings_from(allowed_channels=["#videos"])


def test_quotas_must_be_whole_and_positive():
    with pytest.raises(SettingsError, match=r"quotas.per_user_daily must be a whole number of at least 1"):
        settings_from(quotas={"per_user_daily": 0})


def test_an_unknown_quota_is_refused():
    with pytest.raises(SettingsError, match="quotas needs exactly"):
        settings_from(quotas={"per_user_weekly": 3})


def test_log_retention_must_be_one_cloudwatch_offers():
    with pytest.raises(SettingsError, match="log_retention_days must be one of CloudWatch's"):
        settings_from(log_retention_days=31)


def test_a_refiner_other_than_bedrock_or_offline_is_refused():
    with pytest.raises(SettingsError, match="refiner must be one of bedrock, offline"):
        settings_from(refiner="openai")


def test_every_problem_is_reported_at_once():
    with pytest.raises(SettingsError) as raised:
        settings_from(refiner="x", job_volume_gb=0, alarm_email="nobody")
    assert "refiner" in str(raised.value)
    assert "job_volume_gb" in str(raised.value)
    assert "alarm_email" in str(raised.value)


def test_a_bedrock_model_that_cannot_be_granted_is_refused():
    arn = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123"
    with pytest.raises(
        SettingsError, match="bedrock_model_id: Give a foundation model or inference profile id"
    ):
        settings_from(bedrock_model_id=arn)
