"""Least privilege, read from the synthesized policies: each role may do what its work needs, no more."""

from __future__ import annotations

import json
from typing import Any

from bot.job_events import PROGRESS_SOURCE


def actions_of(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else action


def resources_of(statement: dict[str, Any]) -> list[Any]:
    resource = statement["Resource"]
    return resource if isinstance(resource, list) else [resource]


def granting(synthesized, role: Any, action: str) -> list[dict[str, Any]]:
    return [s for s in synthesized.statements(role) if action in actions_of(s)]


def text(value: Any) -> str:
    return json.dumps(value)


def object_prefixes(synthesized, statement: dict[str, Any]) -> set[str]:
    """The key patterns of the media bucket a statement names, e.g. {"renders/*"}."""
    bucket = synthesized.logical_id(synthesized.stack.storage.bucket)
    found = set()
    for resource in resources_of(statement):
        joined = resource.get("Fn::Join", ["", []])[1] if isinstance(resource, dict) else []
        if joined and joined[0] == {"Fn::GetAtt": [bucket, "Arn"]}:
            found.add(joined[1].lstrip("/"))
    return found


def test_no_policy_grants_a_wildcard_action(deployed):
    for policy in deployed.properties("AWS::IAM::Policy"):
        for statement in policy["PolicyDocument"]["Statement"]:
            assert not any(action.endswith("*") for action in actions_of(statement)), statement


def test_the_bot_may_pass_exactly_the_job_role_and_only_to_sagemaker(deployed):
    bot, jobs = deployed.stack.bot.role, deployed.stack.jobs.role
    (statement,) = granting(deployed, bot, "iam:PassRole")
    assert statement["Resource"] == {"Fn::GetAtt": [deployed.logical_id(jobs), "Arn"]}
    assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}


def test_nothing_else_in_the_stack_may_pass_a_role(deployed):
    bot = deployed.logical_id(deployed.stack.bot.role)
    for policy in deployed.properties("AWS::IAM::Policy"):
        passes = [s for s in policy["PolicyDocument"]["Statement"] if "iam:PassRole" in actions_of(s)]
        assert not passes or policy["Roles"] == [{"Ref": bot}]
    assert len(granting(deployed, deployed.stack.bot.role, "iam:PassRole")) == 1


def test_the_bot_may_create_processing_jobs_only_with_our_prefix_on_the_chosen_gpus(deployed):
    (statement,) = granting(deployed, deployed.stack.bot.role, "sagemaker:CreateProcessingJob")
    assert text(statement["Resource"]).endswith(':processing-job/videobot-*"]]}')
    assert statement["Condition"] == {
        "ForAllValues:StringEquals": {"sagemaker:InstanceTypes": ["ml.g5.2xlarge", "ml.g6e.2xlarge"]}
    }


def test_the_bot_may_describe_tag_and_stop_only_our_processing_jobs(deployed):
    for action in ("sagemaker:DescribeProcessingJob", "sagemaker:StopProcessingJob", "sagemaker:AddTags"):
        (statement,) = granting(deployed, deployed.stack.bot.role, action)
        assert text(statement["Resource"]).endswith(':processing-job/videobot-*"]]}')


def test_the_bot_never_touches_the_staged_weights(deployed):
    for statement in deployed.statements(deployed.stack.bot.role):
        assert not any(prefix.startswith("models/") for prefix in object_prefixes(deployed, statement))
        assert "models/" not in text(statement.get("Condition", {}))


def test_the_bot_writes_uploads_and_specs_but_not_renders(deployed):
    (write,) = granting(deployed, deployed.stack.bot.role, "s3:PutObject")
    assert object_prefixes(deployed, write) == {"images/*", "specs/*"}


def test_the_bot_may_use_only_the_configured_bedrock_model(deployed):
    invoke = granting(deployed, deployed.stack.bot.role, "bedrock:InvokeModel")
    assert {text(s["Resource"]).split("/")[-1] for s in invoke} == {
        'us.anthropic.claude-sonnet-4-5-20250929-v1:0"]]}',
        'anthropic.claude-sonnet-4-5-20250929-v1:0"]]}',
    }
    through_profile = [s for s in invoke if "Condition" in s]
    assert len(through_profile) == 1
    assert "bedrock:InferenceProfileArn" in through_profile[0]["Condition"]["StringEquals"]
    for statement in invoke:
        assert set(actions_of(statement)) == {"bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"}


def test_without_a_guardrail_the_bot_may_apply_none(deployed):
    assert not granting(deployed, deployed.stack.bot.role, "bedrock:ApplyGuardrail")


def test_only_the_bot_may_read_the_slack_secret(deployed):
    readers = [
        policy["Roles"]
        for policy in deployed.properties("AWS::IAM::Policy")
        for statement in policy["PolicyDocument"]["Statement"]
        if "secretsmanager:GetSecretValue" in actions_of(statement)
    ]
    assert readers == [[{"Ref": deployed.logical_id(deployed.stack.bot.role)}]]


# The job role


JOB_ROLE_ACTIONS = {
    "s3:GetObject",
    "s3:ListBucket",
    "s3:PutObject",
    "s3:AbortMultipartUpload",
    "events:PutEvents",
    "logs:CreateLogGroup",
    "logs:DescribeLogStreams",
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "cloudwatch:PutMetricData",
    "ecr:GetAuthorizationToken",
    "ecr:BatchCheckLayerAvailability",
    "ecr:GetDownloadUrlForLayer",
    "ecr:BatchGetImage",
}


def test_the_job_role_can_do_nothing_beyond_its_render(deployed):
    granted = {a for s in deployed.statements(deployed.stack.jobs.role) for a in actions_of(s)}
    assert granted == JOB_ROLE_ACTIONS


def test_the_job_role_is_for_sagemaker_only(deployed):
    role = deployed.template.to_json()["Resources"][deployed.logical_id(deployed.stack.jobs.role)]
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "sagemaker.amazonaws.com"}
    assert "ManagedPolicyArns" not in role["Properties"]


def test_the_job_role_writes_only_under_renders(deployed):
    writes = [
        s
        for s in deployed.statements(deployed.stack.jobs.role)
        if any(a.startswith("s3:") and a != "s3:GetObject" and a != "s3:ListBucket" for a in actions_of(s))
    ]
    assert [object_prefixes(deployed, s) for s in writes] == [{"renders/*"}]


def test_the_job_role_reads_only_its_inputs_and_the_weights(deployed):
    (read,) = granting(deployed, deployed.stack.jobs.role, "s3:GetObject")
    assert object_prefixes(deployed, read) == {"specs/*", "models/*"}
    (listing,) = granting(deployed, deployed.stack.jobs.role, "s3:ListBucket")
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["specs/*", "models/*"]}}


def test_the_job_may_put_only_its_progress_events_on_the_default_bus(deployed):
    (statement,) = granting(deployed, deployed.stack.jobs.role, "events:PutEvents")
    assert text(statement["Resource"]).endswith(':event-bus/default"]]}')
    assert statement["Condition"] == {"StringEquals": {"events:source": PROGRESS_SOURCE}}


def test_the_job_logs_only_to_streams_of_our_jobs(deployed):
    (statement,) = granting(deployed, deployed.stack.jobs.role, "logs:PutLogEvents")
    assert text(statement["Resource"]).endswith(
        ':log-group:/aws/sagemaker/ProcessingJobs:log-stream:videobot-*"]]}'
    )


def test_the_job_may_publish_metrics_only_in_sagemakers_namespace(deployed):
    (statement,) = granting(deployed, deployed.stack.jobs.role, "cloudwatch:PutMetricData")
    assert statement["Condition"] == {
        "StringEquals": {"cloudwatch:namespace": "/aws/sagemaker/ProcessingJobs"}
    }


def test_the_job_pulls_only_from_the_asset_repository(deployed):
    (statement,) = granting(deployed, deployed.stack.jobs.role, "ecr:BatchGetImage")
    assert "container-assets" in text(statement["Resource"])
