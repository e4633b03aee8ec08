"""Two stacks in one account and region (staging and production): each names its jobs with a prefix
of its own, and its rules, IAM patterns, progress bus and alarms are its own, so neither takes the
other's jobs. Both stacks come from the real app; rules are matched with moto's EventBridge patterns."""

from __future__ import annotations

import json

import pytest
from aws_cdk.assertions import Template

from infra.app import build_app
from tests.infra.test_infra_job_events import matches, named


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


def test_each_stacks_alarms_are_named_and_described_after_it(two_stacks):
    names = []
    for stack, template in two_stacks:
        alarms = [
            r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm"
        ]
        assert alarms
        for alarm in alarms:
            assert alarm["AlarmName"].startswith(f"{stack.stack_name}-")
            assert alarm["AlarmDescription"].startswith(f"[{stack.stack_name}] ")
        names.append({alarm["AlarmName"] for alarm in alarms})
    assert not names[0] & names[1]
