"""cdk-nag's AwsSolutions pack: nothing found that isn't acknowledged, and every acknowledgment says why.

(The session's synths already ran the pack as a validation plugin, which fails a synth on any
unacknowledged finding; these tests say what was found and accepted.)
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from cdk_nag import AwsSolutionsChecks


def unacknowledged(synthesized) -> list[str]:
    report = AwsSolutionsChecks().validate_scope(synthesized.app)
    return [
        f"{violation.rule_name} at {[r.construct_path for r in violation.violating_resources]}"
        for violation in report.violations
    ]


def acknowledgments(synthesized) -> list[dict[str, Any]]:
    """Every acknowledgment recorded in the construct tree, with where it was made."""
    key = cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY
    found = []
    for construct in synthesized.stack.node.find_all():
        for entry in construct.node.metadata:
            if entry.type == key:
                found += [{"path": construct.node.path, **rule} for rule in _rules(entry.data)]
    return found


def _rules(data: Any) -> list[dict[str, Any]]:
    if isinstance(data, dict) and "id" in data:
        return [data]
    if isinstance(data, dict):
        return [{"id": rule_id, "reason": reason} for rule_id, reason in data.items()]
    return [rule for item in data for rule in _rules(item)]


@pytest.mark.parametrize("variant", ["deployed", "with_extras"])
def test_aws_solutions_finds_nothing_unacknowledged(variant, request):
    assert unacknowledged(request.getfixturevalue(variant)) == []


@pytest.mark.parametrize("variant", ["deployed", "with_extras"])
def test_every_acknowledgment_gives_a_specific_reason(variant, request):
    found = acknowledgments(request.getfixturevalue(variant))
    assert found
    for acknowledgment in found:
        assert len(acknowledgment["reason"]) >= 60, acknowledgment


def test_acknowledged_findings_are_wildcards_on_named_resources_and_slack_token_rotation(deployed):
    rules = {
        acknowledgment["id"].removeprefix("Annotation::").split("[")[0]
        for acknowledgment in acknowledgments(deployed)
    }
    assert rules == {"AwsSolutions-IAM5", "AwsSolutions-SMG4"}


def test_an_unacknowledged_finding_stops_the_synth(tmp_path):
    from aws_cdk import aws_s3 as s3

    from infra.app import DEFAULT_STACK_NAME, build_app

    app = build_app({"aws:cdk:bundling-stacks": []}, outdir=str(tmp_path))
    s3.Bucket(app.node.find_child(DEFAULT_STACK_NAME), "CarelessBucket")
    with pytest.raises(RuntimeError, match="ValidationFailed") as failed:
        app.synth()
    assert "server access logs disabled" in str(failed.value)
    assert "Videobot/CarelessBucket/Resource" in str(failed.value)
