"""The EventBridge rules, checked against the very events the bot's job events module describes
(the shapes the local runner sends too), with moto's implementation of EventBridge pattern matching."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Template
from moto.events.models import EventPattern

from bot.job_events import progress_event, state_change_event
from infra.app import build_app


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


# Two stacks in one account and region (staging and production)


@pytest.fixture(scope="module")
def two_stacks():
    """Two stacks of the real app side by side in one account and region, with their templates."""
    from infra.stack import VideobotStack

    app = build_app({"aws:cdk:bundling-stacks": [], "stack_name": "Videobot-staging"}, checks=False)
    stacks = (app.node.find_child("Videobot-staging"), VideobotStack(app, "Videobot-production"))
    return [(stack, Template.from_stack(stack).to_json()) for stack in stacks]


def test_two_stacks_name_their_jobs_with_prefixes_neither_of_which_starts_the_others(two_stacks):
    (staging, _), (production, _) = two_stacks
    a, b = staging.job_name_prefix, production.job_name_prefix
    assert a != b and not a.startswith(b) and not b.startswith(a)


def test_each_stacks_iam_patterns_name_its_own_jobs_only(two_stacks):
    for (mine, template), (theirs, _) in (two_stacks, two_stacks[::-1]):
        policies = json.dumps([r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Policy"])
        assert f"processing-job/{mine.job_name_prefix}*" in policies
        assert f"log-stream:{mine.job_name_prefix}*" in policies
        assert theirs.job_name_prefix not in policies


def test_a_job_of_one_stack_reaches_only_that_stacks_rules(two_stacks):
    for (mine, mine_template), (_, theirs_template) in (two_stacks, two_stacks[::-1]):
        event = named(f"{mine.job_name_prefix}c0123-1700000000000100-r1", "Failed")
        for construct in (mine.job_events.state_changes, mine.job_events.failures):
            logical_id = mine.resolve(construct.node.default_child.logical_id)  # the same in both stacks
            assert matches(mine_template["Resources"][logical_id]["Properties"], event)
            assert not matches(theirs_template["Resources"][logical_id]["Properties"], event)


def test_each_stack_hears_its_own_renders_progress_only(two_stacks):
    (staging, staging_template), (production, _) = two_stacks
    progress = staging_template["Resources"][
        staging.resolve(staging.job_events.progress.node.default_child.logical_id)
    ]
    bus = staging.resolve(staging.job_events.progress_bus.node.default_child.logical_id)
    assert progress["Properties"]["EventBusName"] == {"Ref": bus}
    assert production.job_events.progress_bus.node.path.startswith("Videobot-production/")
