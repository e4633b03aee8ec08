"""The EventBridge rules, checked against the very events the bot's job events module describes
(the shapes the local runner sends too), with moto's implementation of EventBridge pattern matching."""

from __future__ import annotations

import json
from typing import Any

from moto.events.models import EventPattern

from bot.job_events import progress_event, state_change_event


def rule(synthesized, construct: Any) -> dict[str, Any]:
    return synthesized.template.to_json()["Resources"][synthesized.logical_id(construct)]["Properties"]


def matches(rule_properties: dict[str, Any], event: dict[str, Any]) -> bool:
    return EventPattern.load(json.dumps(rule_properties["EventPattern"])).matches_event(event)


def named(job_name: str, status: str, **details: str) -> dict[str, Any]:
    """SageMaker's state-change event for the processing job `job_name`."""
    event = state_change_event("x", status, **details)
    event["detail"]["ProcessingJobName"] = job_name
    return event


def our_job(synthesized, status: str, **details: str) -> dict[str, Any]:
    return named(f"{synthesized.stack.job_name_prefix}c0123-1700000000000100-r1", status, **details)


def other_teams_job(status: str) -> dict[str, Any]:
    return named("nightly-etl-42", status)


def test_our_jobs_state_changes_reach_the_job_events_function(deployed):
    state_changes = rule(deployed, deployed.stack.job_events.state_changes)
    for status in ("InProgress", "Completed", "Failed", "Stopping", "Stopped"):
        assert matches(state_changes, our_job(deployed, status))
    handler = deployed.logical_id(deployed.stack.job_events.function)
    assert state_changes["Targets"][0]["Arn"] == {"Fn::GetAtt": [handler, "Arn"]}


def test_other_processing_jobs_in_the_account_are_not_ours(deployed):
    state_changes = rule(deployed, deployed.stack.job_events.state_changes)
    assert not matches(state_changes, other_teams_job("Completed"))


def test_render_progress_reaches_the_job_events_function_from_this_stacks_own_bus(deployed):
    progress = rule(deployed, deployed.stack.job_events.progress)
    assert matches(progress, progress_event("j1", phase="denoising", step=3, total=50))
    assert not matches(progress, our_job(deployed, "Completed"))
    assert progress["EventBusName"] == {"Ref": deployed.logical_id(deployed.stack.job_events.progress_bus)}


def test_job_events_are_retried_then_kept_in_a_dead_letter_queue(deployed):
    dead_letters = deployed.logical_id(deployed.stack.job_events.dead_letters)
    for construct in (deployed.stack.job_events.state_changes, deployed.stack.job_events.progress):
        (target,) = rule(deployed, construct)["Targets"]
        assert target["RetryPolicy"]["MaximumRetryAttempts"] >= 2
        assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [dead_letters, "Arn"]}}


def test_a_failing_handler_is_retried_and_its_event_kept(deployed):
    handler = deployed.logical_id(deployed.stack.job_events.function)
    (config,) = [
        p
        for p in deployed.properties("AWS::Lambda::EventInvokeConfig")
        if p["FunctionName"] == {"Ref": handler}
    ]
    assert config["MaximumRetryAttempts"] == 2
    function = deployed.template.to_json()["Resources"][handler]["Properties"]
    assert function["DeadLetterConfig"]["TargetArn"] == {
        "Fn::GetAtt": [deployed.logical_id(deployed.stack.job_events.dead_letters), "Arn"]
    }


def test_only_our_failed_renders_are_counted_as_failures(deployed):
    failures = rule(deployed, deployed.stack.job_events.failures)
    assert matches(failures, our_job(deployed, "Failed", failure_reason="CUDA out of memory"))
    assert not matches(failures, our_job(deployed, "Completed"))
    assert not matches(failures, our_job(deployed, "Stopped"))
    assert not matches(failures, other_teams_job("Failed"))


def test_each_failed_render_is_told_to_the_failures_topic_in_a_sentence(deployed):
    (target,) = rule(deployed, deployed.stack.job_events.failures)["Targets"]
    assert target["Arn"] == {"Ref": deployed.logical_id(deployed.stack.job_events.failure_topic)}
    assert "<detail-ProcessingJobName>" in target["InputTransformer"]["InputTemplate"]
    assert "<detail-FailureReason>" in target["InputTransformer"]["InputTemplate"]
