"""The functions' environment is one the bot accepts: read back with the bot's own `Settings.from_env`,
with each CloudFormation reference standing in as a placeholder string."""

from __future__ import annotations

import importlib
import json
from typing import Any

import pytest

from bot.aws_config import AwsSettings
from bot.config import Settings
from bot.limits import Limits
from infra.settings import StackSettings


def placeholder(value: Any) -> str:
    """A value as Lambda would see it, each reference (unknown until deploy) as `<LogicalId>`."""
    if isinstance(value, str):
        return value
    if "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(placeholder(part) for part in parts)
    if "Ref" in value:
        return f"<{value['Ref']}>"
    if "Fn::GetAtt" in value:
        return "<{}.{}>".format(*value["Fn::GetAtt"])
    return f"<{json.dumps(value, separators=(';', '='))}>"  # no commas: some values are comma lists


def placeholders(environment: dict[str, Any]) -> dict[str, str]:
    return {name: placeholder(value) for name, value in environment.items()}


GUARDRAIL = ("VIDEOBOT_GUARDRAIL_ID", "VIDEOBOT_GUARDRAIL_VERSION")
SLACK_HANDLER = "bot.aws.handle_slack_request"


def environments(synthesized) -> dict[str, dict[str, Any]]:
    return {
        properties["Handler"]: properties["Environment"]["Variables"]
        for properties in synthesized.properties("AWS::Lambda::Function")
    }


def shared(environment: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in environment.items() if name not in GUARDRAIL}


@pytest.mark.parametrize("variant", ["deployed", "with_extras", "with_guardrail"])
def test_every_function_gets_the_same_environment_but_the_guardrail(variant, request):
    synthesized = request.getfixturevalue(variant)
    distinct = {json.dumps(shared(env), sort_keys=True) for env in environments(synthesized).values()}
    assert len(distinct) == 1


@pytest.mark.parametrize("variant", ["with_extras", "with_guardrail"])
def test_only_the_function_that_writes_prompts_is_told_the_guardrail(variant, request):
    for handler, environment in environments(request.getfixturevalue(variant)).items():
        assert (set(GUARDRAIL) <= set(environment)) == (handler == SLACK_HANDLER), handler


def test_the_bot_reads_the_environment_as_the_aws_backend(deployed):
    environment = environments(deployed)[SLACK_HANDLER]
    settings = Settings.from_env(placeholders(environment))
    assert settings.backend == "aws"
    assert settings.process_before_response is True
    assert settings.default_model == "cogvideox-5b"
    assert settings.refiner == "bedrock"
    assert settings.bedrock_model_id == StackSettings().bedrock_model_id
    assert settings.guardrail_id is None
    assert environment["POWERTOOLS_SERVICE_NAME"] == "videobot"


def test_the_aws_settings_name_this_stacks_resources(deployed):
    stack = deployed.stack
    (environment,) = {json.dumps(e, sort_keys=True): e for e in environments(deployed).values()}.values()
    aws = AwsSettings.from_env(placeholders(environment))
    resolved = {
        "table": stack.storage.table.table_name,
        "bucket": stack.storage.bucket.bucket_name,
        "slack_secret_arn": stack.slack.secret.secret_arn,
        "job_role_arn": stack.jobs.role.role_arn,
        "capacity_queue_url": stack.jobs.queue.queue_url,
        "job_image_uri": stack.jobs.image.image_uri,
    }
    for attribute, token in resolved.items():
        assert getattr(aws, attribute) == placeholder(stack.resolve(token)), attribute
    assert aws.instance_types == StackSettings().instance_types
    assert (aws.max_runtime_s, aws.volume_gb) == (3600, 100)
    assert aws.models_prefix == "models"
    assert aws.event_bus == placeholder(stack.resolve(stack.job_events.progress_bus.event_bus_name))
    assert aws.job_name_prefix == stack.job_name_prefix
    assert aws.weights_source == "auto"  # staged weights when there, else the hub
    assert aws.subnets == () and aws.security_groups == ()


def test_the_limits_are_the_configured_quotas(deployed):
    (environment,) = {json.dumps(e, sort_keys=True): e for e in environments(deployed).values()}.values()
    assert Limits.from_env(placeholders(environment)) == StackSettings().limits


def test_the_extras_reach_the_bot(with_extras):
    environment = environments(with_extras)[SLACK_HANDLER]
    settings = Settings.from_env(placeholders(environment))
    assert (settings.guardrail_id, settings.guardrail_version) == ("gr0abc123def", "2")
    assert settings.aws.weights_source == "staged"  # a job in the VPC can't reach the hub
    assert settings.limits.allowed_channels == frozenset({"CVIDEOS", "CMOVIES"})
    assert len(settings.aws.subnets) == 2
    assert len(settings.aws.security_groups) == 1


def test_the_created_guardrail_and_its_version_reach_the_slack_function(with_guardrail):
    environment = environments(with_guardrail)[SLACK_HANDLER]
    guardrail = with_guardrail.stack.slack.guardrail
    assert environment["VIDEOBOT_GUARDRAIL_ID"] == with_guardrail.stack.resolve(guardrail.guardrail_id)
    assert environment["VIDEOBOT_GUARDRAIL_VERSION"] == with_guardrail.stack.resolve(guardrail.version_number)


def test_every_handler_the_stack_names_exists_in_the_bot(deployed):
    aws = pytest.importorskip("bot.aws", reason="the Lambda entrypoints land with issue 5")
    for handler in environments(deployed):
        module, _, name = handler.rpartition(".")
        assert importlib.import_module(module) is aws
        assert callable(getattr(aws, name)), handler
