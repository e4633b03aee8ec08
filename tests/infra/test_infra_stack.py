"""The resources of the stack as synthesized from cdk.json: what a deployment gets."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk.assertions import Match

from bot.adapters.blobs import render_key, spec_key
from bot.adapters.store.dynamodb import TABLE_SCHEMA
from infra.storage import IMAGES_PREFIX, MODELS_PREFIX, RENDERS_PREFIX, SPECS_PREFIX, WARM_PREFIX

HANDLERS = {
    "bot.runtime.lambda_handlers.handle_slack_request",
    "bot.runtime.lambda_handlers.handle_job_event",
    "bot.runtime.lambda_handlers.dispatch_queued_renders",
    "bot.runtime.lambda_handlers.sweep_stale_renders",
    "bot.runtime.lambda_handlers.explain_unfinished_requests",
}


def function(deployed, handler: str) -> dict[str, Any]:
    (found,) = [p for p in deployed.properties("AWS::Lambda::Function") if p["Handler"] == handler]
    return found


def logical_id_of_function(deployed, handler: str) -> str:
    (found,) = [
        name
        for name, resource in deployed.resources("AWS::Lambda::Function").items()
        if resource["Properties"]["Handler"] == handler
    ]
    return found


def test_synth_writes_the_template(deployed):
    template = deployed.outdir / "Videobot.template.json"
    assert json.loads(template.read_text())["Resources"]


# Storage


def test_the_table_has_the_keys_and_indexes_the_store_declares(deployed):
    (table,) = deployed.properties("AWS::DynamoDB::GlobalTable")
    assert table["KeySchema"] == TABLE_SCHEMA["KeySchema"]
    indexes = {index["IndexName"]: index["KeySchema"] for index in table["GlobalSecondaryIndexes"]}
    assert indexes == {
        index["IndexName"]: index["KeySchema"] for index in TABLE_SCHEMA["GlobalSecondaryIndexes"]
    }
    assert sorted(table["AttributeDefinitions"], key=str) == sorted(
        TABLE_SCHEMA["AttributeDefinitions"], key=str
    )


def test_the_table_is_on_demand_with_ttl_and_point_in_time_recovery(deployed):
    deployed.template.has_resource_properties(
        "AWS::DynamoDB::GlobalTable",
        {
            "BillingMode": "PAY_PER_REQUEST",
            "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True},
            "Replicas": [
                Match.object_like({"PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True}})
            ],
        },
    )


def test_the_bucket_prefixes_are_the_ones_the_bot_writes():
    assert render_key("j1", "video.mp4").startswith(RENDERS_PREFIX)
    assert spec_key("j1").startswith(SPECS_PREFIX)


def test_the_media_bucket_is_private_encrypted_versioned_and_logged(deployed):
    media = deployed.stack.storage.bucket
    bucket = deployed.template.to_json()["Resources"][deployed.logical_id(media)]["Properties"]
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert bucket["LoggingConfiguration"]["DestinationBucketName"] == {
        "Ref": deployed.logical_id(deployed.stack.storage.access_logs)
    }


def test_every_bucket_refuses_plain_http(deployed):
    policies = deployed.properties("AWS::S3::BucketPolicy")
    assert len(policies) == len(deployed.resources("AWS::S3::Bucket"))
    for policy in policies:
        assert any(
            statement["Effect"] == "Deny"
            and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            for statement in policy["PolicyDocument"]["Statement"]
        )


def test_uploads_specs_and_renders_expire_but_staged_weights_never_do(deployed):
    media = deployed.stack.storage.bucket
    bucket = deployed.template.to_json()["Resources"][deployed.logical_id(media)]["Properties"]
    expiring = {
        rule["Prefix"]: rule["ExpirationInDays"]
        for rule in bucket["LifecycleConfiguration"]["Rules"]
        if "ExpirationInDays" in rule
    }
    assert expiring == {IMAGES_PREFIX: 7, SPECS_PREFIX: 30, RENDERS_PREFIX: 30, WARM_PREFIX: 2}
    assert not any(prefix.startswith(MODELS_PREFIX) or prefix == "" for prefix in expiring)


# The functions


def test_the_handlers_run_on_python_3_14_arm64_from_one_asset(deployed):
    functions = deployed.properties("AWS::Lambda::Function")
    assert {f["Handler"] for f in functions} == HANDLERS
    assert {f["Runtime"] for f in functions} == {"python3.14"}
    assert {tuple(f["Architectures"]) for f in functions} == {("arm64",)}
    assert len({json.dumps(f["Code"], sort_keys=True) for f in functions}) == 1


def test_every_function_logs_to_its_own_group_with_a_retention(deployed):
    groups = deployed.resources("AWS::Logs::LogGroup")
    for properties in deployed.properties("AWS::Lambda::Function"):
        group = properties["LoggingConfig"]["LogGroup"]["Ref"]
        assert groups[group]["Properties"]["RetentionInDays"] == 30


def test_slack_reaches_the_bot_through_a_function_url_without_aws_auth(deployed):
    deployed.template.has_resource_properties(
        "AWS::Lambda::Url",
        {
            "AuthType": "NONE",
            "TargetFunctionArn": {
                "Fn::GetAtt": [
                    logical_id_of_function(deployed, "bot.runtime.lambda_handlers.handle_slack_request"),
                    "Arn",
                ]
            },
        },
    )


def test_the_slack_function_has_reserved_concurrency_and_a_dead_letter_queue(deployed):
    slack = function(deployed, "bot.runtime.lambda_handlers.handle_slack_request")
    assert slack["ReservedConcurrentExecutions"] == 20
    assert slack["DeadLetterConfig"]["TargetArn"]["Fn::GetAtt"][0] in deployed.resources("AWS::SQS::Queue")


def test_a_failed_lazy_listener_is_not_retried(deployed):
    deployed.template.has_resource_properties(
        "AWS::Lambda::EventInvokeConfig",
        {
            "FunctionName": {
                "Ref": logical_id_of_function(deployed, "bot.runtime.lambda_handlers.handle_slack_request")
            },
            "MaximumRetryAttempts": 0,
        },
    )


def test_the_slack_function_has_a_fixed_name_it_may_invoke_for_lazy_listeners(deployed):
    slack = function(deployed, "bot.runtime.lambda_handlers.handle_slack_request")
    assert slack["FunctionName"] == "Videobot-slack-requests"
    invoke = [
        statement
        for policy in deployed.properties("AWS::IAM::Policy")
        for statement in policy["PolicyDocument"]["Statement"]
        if statement["Action"] == "lambda:InvokeFunction"
    ]
    (statement,) = invoke
    assert json.dumps(statement["Resource"]).endswith(':function:Videobot-slack-requests"]]}')


def test_the_dispatcher_drains_the_capacity_queue_with_partial_batch_responses(deployed):
    jobs = deployed.stack.jobs
    deployed.template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "EventSourceArn": {"Fn::GetAtt": [deployed.logical_id(jobs.queue), "Arn"]},
            "FunctionName": {
                "Ref": logical_id_of_function(deployed, "bot.runtime.lambda_handlers.dispatch_queued_renders")
            },
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
        },
    )


def test_the_capacity_queue_outlasts_the_dispatcher_and_keeps_what_it_cannot_start(deployed):
    jobs = deployed.stack.jobs
    queue = deployed.template.to_json()["Resources"][deployed.logical_id(jobs.queue)]["Properties"]
    dispatcher = function(deployed, "bot.runtime.lambda_handlers.dispatch_queued_renders")
    assert queue["VisibilityTimeout"] >= 6 * dispatcher["Timeout"]
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {
        "Fn::GetAtt": [deployed.logical_id(jobs.queue_dead_letters), "Arn"]
    }


def test_every_queue_is_encrypted_and_refuses_plain_http(deployed):
    queues = deployed.resources("AWS::SQS::Queue")
    assert all(q["Properties"]["SqsManagedSseEnabled"] for q in queues.values())
    denied = set()
    for policy in deployed.properties("AWS::SQS::QueuePolicy"):
        for statement in policy["PolicyDocument"]["Statement"]:
            if statement["Effect"] == "Deny" and statement["Condition"] == {
                "Bool": {"aws:SecureTransport": "false"}
            }:
                denied.add(statement["Resource"]["Fn::GetAtt"][0])
    assert denied == set(queues)


def test_the_sweeper_runs_every_five_minutes(deployed):
    deployed.template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "ScheduleExpression": "rate(5 minutes)",
            "Targets": [
                Match.object_like(
                    {
                        "Arn": {
                            "Fn::GetAtt": [
                                logical_id_of_function(
                                    deployed, "bot.runtime.lambda_handlers.sweep_stale_renders"
                                ),
                                "Arn",
                            ]
                        }
                    }
                )
            ],
        },
    )


# Operations


def test_alarms_watch_errors_dead_letters_queue_waits_and_failed_renders(deployed):
    alarms = deployed.properties("AWS::CloudWatch::Alarm")
    metrics = {(alarm["Namespace"], alarm["MetricName"]) for alarm in alarms}
    assert ("AWS/Lambda", "Errors") in metrics
    assert ("AWS/Lambda", "Throttles") in metrics
    assert ("AWS/SQS", "ApproximateNumberOfMessagesVisible") in metrics
    assert ("AWS/SQS", "ApproximateAgeOfOldestMessage") in metrics
    assert ("AWS/Events", "Invocations") in metrics
    errors = [alarm for alarm in alarms if alarm["MetricName"] == "Errors"]
    assert len(errors) == 5
    dead_letters = [alarm for alarm in alarms if alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"]
    assert len(dead_letters) == 2
    # The Slack function's dead letters are read (and explained) at once: what arrives is the alarm.
    assert ("AWS/SQS", "NumberOfMessagesSent") in metrics


def test_every_alarm_notifies_the_alarm_topic(deployed):
    topic = deployed.logical_id(deployed.stack.operations.topic)
    for alarm in deployed.properties("AWS::CloudWatch::Alarm"):
        assert alarm["AlarmActions"] == [{"Ref": topic}]


def test_the_outputs_are_the_request_url_the_bucket_and_the_secret(deployed):
    outputs = deployed.template.to_json()["Outputs"]
    assert {"SlackRequestUrl", "MediaBucketName", "SlackSecretName"} <= set(outputs)
    slack_url = deployed.stack.slack.url
    assert outputs["SlackRequestUrl"]["Value"] == deployed.stack.resolve(slack_url.url)


def test_the_slack_secret_starts_empty_with_the_keys_the_bot_reads(deployed):
    (secret,) = deployed.properties("AWS::SecretsManager::Secret")
    assert json.loads(secret["SecretString"]) == {"signing_secret": "", "bot_token": ""}
