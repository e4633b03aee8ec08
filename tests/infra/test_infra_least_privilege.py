"""Least privilege, read from the synthesized policies: each role may do what its work needs, no more."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.jobs.messages import PROGRESS_SOURCE


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


# The five functions: a role each, with what its handler calls (bot/runtime/lambda_handlers.py) and no more

LOGS = {"logs:CreateLogStream", "logs:PutLogEvents"}
SECRET = {"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}  # every handler builds Services
SESSIONS = {
    f"dynamodb:{action}"
    for action in (
        "BatchGetItem", "GetRecords", "GetShardIterator", "Query", "GetItem", "Scan", "ConditionCheckItem",
        "BatchWriteItem", "PutItem", "UpdateItem", "DeleteItem", "DescribeTable",
    )
}  # fmt: skip
START_RENDERS = {"sagemaker:CreateProcessingJob", "sagemaker:AddTags", "iam:PassRole"}
CONSUME = {"sqs:ReceiveMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueUrl", "sqs:DeleteMessage",
           "sqs:GetQueueAttributes"}  # fmt: skip
SEND = {"sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"}
EXPECTED_ACTIONS = {
    "slack": LOGS | SECRET | SESSIONS | START_RENDERS | SEND
    | {"s3:GetObject", "s3:ListBucket", "s3:PutObject", "s3:AbortMultipartUpload", "s3:DeleteObject"}
    | {"sagemaker:DescribeProcessingJob", "sagemaker:StopProcessingJob"}
    | {"lambda:InvokeFunction", "bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"},
    # Both start a storyboard's waiting shots and its cut: the job's spec and the clips go under specs/,
    # offered to a warm job under warm/; the sweeper also stops a stuck warm job and deletes its heartbeat.
    "job_events": LOGS | SECRET | SESSIONS | START_RENDERS | SEND  # its dead letters, the capacity queue
    | {"s3:GetObject", "s3:ListBucket", "s3:PutObject", "s3:AbortMultipartUpload"}
    | {"sagemaker:DescribeProcessingJob"},
    "dispatcher": LOGS | SECRET | SESSIONS | START_RENDERS | CONSUME
    | {"s3:ListBucket", "s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"},  # warm/ claims
    "sweeper": LOGS | SECRET | SESSIONS | START_RENDERS | SEND
    | {"s3:GetObject", "s3:ListBucket", "s3:PutObject", "s3:AbortMultipartUpload"}
    | {"sagemaker:DescribeProcessingJob", "sagemaker:StopProcessingJob", "s3:DeleteObject"},
    "unfinished": LOGS | SECRET | CONSUME | {"dynamodb:PutItem"},
}  # fmt: skip


def function_roles(synthesized) -> dict[str, Any]:
    stack = synthesized.stack
    functions = {
        "slack": stack.slack.function,
        "job_events": stack.job_events.function,
        "dispatcher": stack.jobs.dispatcher,
        "sweeper": stack.jobs.sweeper,
        "unfinished": stack.slack.unfinished,
    }
    return {name: stack.bot.role_of(function) for name, function in functions.items()}


def granted(synthesized, role: Any) -> set[str]:
    return {action for statement in synthesized.statements(role) for action in actions_of(statement)}


def test_each_function_runs_with_a_role_of_its_own(deployed):
    roles = function_roles(deployed)
    assert len({deployed.logical_id(role) for role in roles.values()}) == 5
    for properties in deployed.properties("AWS::Lambda::Function"):
        assert list(properties["Role"]["Fn::GetAtt"])[1] == "Arn"
    assert len({json.dumps(p["Role"]) for p in deployed.properties("AWS::Lambda::Function")}) == 5


@pytest.mark.parametrize("name", sorted(EXPECTED_ACTIONS))
def test_each_function_may_do_exactly_what_its_handler_calls(deployed, name):
    assert granted(deployed, function_roles(deployed)[name]) == EXPECTED_ACTIONS[name]


def test_only_the_functions_that_start_renders_may_pass_the_job_role_and_only_to_sagemaker(deployed):
    roles, jobs = function_roles(deployed), deployed.stack.jobs.role
    passing = {name for name, role in roles.items() if granting(deployed, role, "iam:PassRole")}
    assert passing == {"slack", "dispatcher", "job_events", "sweeper"}
    for name in passing:
        (statement,) = granting(deployed, roles[name], "iam:PassRole")
        assert statement["Resource"] == {"Fn::GetAtt": [deployed.logical_id(jobs), "Arn"]}
        assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}


def test_nothing_else_in_the_stack_may_pass_a_role(deployed):
    starting = ("slack", "dispatcher", "job_events", "sweeper")
    allowed = {deployed.logical_id(function_roles(deployed)[name]) for name in starting}
    for policy in deployed.properties("AWS::IAM::Policy"):
        passes = [s for s in policy["PolicyDocument"]["Statement"] if "iam:PassRole" in actions_of(s)]
        assert not passes or {role["Ref"] for role in policy["Roles"]} <= allowed


def test_renders_are_created_only_with_this_stacks_prefix_on_the_chosen_gpus_and_joins_cpu(deployed):
    prefix = deployed.stack.job_name_prefix
    for name in ("slack", "dispatcher", "job_events", "sweeper"):
        (statement,) = granting(deployed, function_roles(deployed)[name], "sagemaker:CreateProcessingJob")
        assert text(statement["Resource"]).endswith(f':processing-job/{prefix}*"]]}}')
        assert statement["Condition"] == {
            "ForAllValues:StringEquals": {
                "sagemaker:InstanceTypes": ["ml.g5.2xlarge", "ml.g6e.2xlarge", "ml.m5.xlarge"]
            }
        }


def test_functions_describe_tag_and_stop_only_this_stacks_processing_jobs(deployed):
    prefix = deployed.stack.job_name_prefix
    for role in function_roles(deployed).values():
        for statement in deployed.statements(role):
            if any(action.startswith("sagemaker:") for action in actions_of(statement)):
                assert text(statement["Resource"]).endswith(f':processing-job/{prefix}*"]]}}')


def test_only_the_slack_function_stops_renders_and_those_that_start_renders_queue_them(deployed):
    roles = function_roles(deployed)
    stopping = {n for n, r in roles.items() if granting(deployed, r, "sagemaker:StopProcessingJob")}
    assert stopping == {"slack", "sweeper"}  # the sweeper: a warm job it finds stuck
    queue = deployed.logical_id(deployed.stack.jobs.queue)
    senders = {
        name
        for name, role in roles.items()
        for statement in granting(deployed, role, "sqs:SendMessage")
        if queue in text(statement["Resource"])
    }
    assert senders == {"slack", "job_events", "sweeper"}


def test_only_the_dispatcher_consumes_the_capacity_queue(deployed):
    queue = deployed.logical_id(deployed.stack.jobs.queue)
    consumers = {
        name
        for name, role in function_roles(deployed).items()
        for statement in granting(deployed, role, "sqs:ReceiveMessage")
        if queue in text(statement["Resource"])
    }
    assert consumers == {"dispatcher"}


def test_no_function_reads_or_writes_the_staged_weights(deployed):
    for role in function_roles(deployed).values():
        for statement in deployed.statements(role):
            assert not any(prefix.startswith("models/") for prefix in object_prefixes(deployed, statement))


def test_only_the_functions_that_launch_may_list_the_staged_weights(deployed):
    listing = {
        name
        for name, role in function_roles(deployed).items()
        for statement in granting(deployed, role, "s3:ListBucket")
        if "models/*" in statement["Condition"]["StringLike"]["s3:prefix"]
    }
    assert listing == {"slack", "dispatcher", "job_events", "sweeper"}


def test_the_slack_function_writes_uploads_and_specs_and_reads_pictures_and_posters(deployed):
    slack = function_roles(deployed)["slack"]
    (write,) = granting(deployed, slack, "s3:PutObject")
    assert object_prefixes(deployed, write) == {"images/*", "specs/*", "warm/*"}
    (read,) = granting(deployed, slack, "s3:GetObject")
    assert object_prefixes(deployed, read) == {"images/*", "renders/*", "warm/*"}  # posters, clips, warm/


def test_only_the_slack_function_deletes_renders_and_only_those_people_deleted(deployed):
    roles = function_roles(deployed)
    deleting = {n for n, r in roles.items() if granting(deployed, r, "s3:DeleteObject")}
    assert deleting == {"slack", "sweeper"}  # the sweeper: a stopped warm job's heartbeat, under warm/hosts/
    (delete,) = granting(deployed, roles["slack"], "s3:DeleteObject")
    assert object_prefixes(deployed, delete) == {"renders/*"}
    (delete,) = granting(deployed, roles["sweeper"], "s3:DeleteObject")
    assert object_prefixes(deployed, delete) == {"warm/hosts/*"}


def test_the_functions_that_post_videos_read_renders_only_and_write_only_specs(deployed):
    for name in ("job_events", "sweeper"):
        (read,) = granting(deployed, function_roles(deployed)[name], "s3:GetObject")
        assert object_prefixes(deployed, read) == {"renders/*", "warm/*"}  # warm/: renders' outcomes
        (write,) = granting(deployed, function_roles(deployed)[name], "s3:PutObject")
        assert object_prefixes(deployed, write) == {"specs/*", "warm/*"}  # a storyboard's shots and cut


def test_no_function_writes_renders(deployed):
    for role in function_roles(deployed).values():
        for statement in granting(deployed, role, "s3:PutObject"):
            assert "renders/*" not in object_prefixes(deployed, statement)


def test_the_unfinished_function_only_claims_on_the_table(deployed):
    (statement,) = [
        s
        for s in deployed.statements(function_roles(deployed)["unfinished"])
        if "dynamodb:PutItem" in actions_of(s)
    ]
    assert actions_of(statement) == ["dynamodb:PutItem"]
    table = deployed.logical_id(deployed.stack.storage.table)
    assert statement["Resource"] == {"Fn::GetAtt": [table, "Arn"]}


def test_only_the_slack_function_may_invoke_itself(deployed):
    invokers = {
        name
        for name, role in function_roles(deployed).items()
        if granting(deployed, role, "lambda:InvokeFunction")
    }
    assert invokers == {"slack"}
    (statement,) = granting(deployed, function_roles(deployed)["slack"], "lambda:InvokeFunction")
    assert text(statement["Resource"]).endswith(':function:Videobot-slack-requests"]]}')


def test_only_the_slack_function_may_use_only_the_configured_bedrock_model(deployed):
    roles = function_roles(deployed)
    assert {n for n, r in roles.items() if granting(deployed, r, "bedrock:InvokeModel")} == {"slack"}
    invoke = granting(deployed, roles["slack"], "bedrock:InvokeModel")
    assert {text(s["Resource"]).split("/")[-1] for s in invoke} == {
        'us.anthropic.claude-sonnet-4-5-20250929-v1:0"]]}',
        'anthropic.claude-sonnet-4-5-20250929-v1:0"]]}',
    }
    through_profile = [s for s in invoke if "Condition" in s]
    assert len(through_profile) == 1
    assert "bedrock:InferenceProfileArn" in through_profile[0]["Condition"]["StringEquals"]
    for statement in invoke:
        assert set(actions_of(statement)) == {"bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"}


def test_without_a_guardrail_no_function_may_apply_one(deployed):
    for role in function_roles(deployed).values():
        assert not granting(deployed, role, "bedrock:ApplyGuardrail")


def test_the_slack_secret_is_read_only_by_the_functions(deployed):
    functions = {deployed.logical_id(role) for role in function_roles(deployed).values()}
    readers = [
        role["Ref"]
        for policy in deployed.properties("AWS::IAM::Policy")
        for statement in policy["PolicyDocument"]["Statement"]
        if "secretsmanager:GetSecretValue" in actions_of(statement)
        for role in policy["Roles"]
    ]
    assert sorted(readers) == sorted(functions)


# The job role


JOB_ROLE_ACTIONS = {
    "s3:GetObject",
    "s3:ListBucket",
    "s3:PutObject",
    "s3:AbortMultipartUpload",
    "s3:DeleteObject",  # warm/: what a warm job takes off the line
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
    # warm/: a warm job's hand-over (claims, heartbeats, outcomes; it deletes what it took off the line)
    assert [object_prefixes(deployed, s) for s in writes] == [{"renders/*", "warm/*"}, {"warm/*"}]


def test_the_job_role_reads_only_its_inputs_and_the_weights(deployed):
    (read,) = granting(deployed, deployed.stack.jobs.role, "s3:GetObject")
    assert object_prefixes(deployed, read) == {"specs/*", "models/*", "warm/*"}
    (listing,) = granting(deployed, deployed.stack.jobs.role, "s3:ListBucket")
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["specs/*", "models/*", "warm/*"]}}


def test_the_job_may_put_only_its_progress_events_on_this_stacks_progress_bus(deployed):
    (statement,) = granting(deployed, deployed.stack.jobs.role, "events:PutEvents")
    bus = deployed.logical_id(deployed.stack.job_events.progress_bus)
    assert statement["Resource"] == {"Fn::GetAtt": [bus, "Arn"]}
    assert statement["Condition"] == {"StringEquals": {"events:source": PROGRESS_SOURCE}}


def test_the_job_logs_only_to_streams_of_this_stacks_jobs(deployed):
    (statement,) = granting(deployed, deployed.stack.jobs.role, "logs:PutLogEvents")
    assert text(statement["Resource"]).endswith(
        f':log-group:/aws/sagemaker/ProcessingJobs:log-stream:{deployed.stack.job_name_prefix}*"]]}}'
    )


def test_the_job_may_publish_metrics_only_in_sagemakers_namespace(deployed):
    (statement,) = granting(deployed, deployed.stack.jobs.role, "cloudwatch:PutMetricData")
    assert statement["Condition"] == {
        "StringEquals": {"cloudwatch:namespace": "/aws/sagemaker/ProcessingJobs"}
    }


def test_the_job_pulls_only_from_the_asset_repository(deployed):
    (statement,) = granting(deployed, deployed.stack.jobs.role, "ecr:BatchGetImage")
    assert "container-assets" in text(statement["Resource"])
