"""cfn-lint over the synthesized templates: CloudFormation's own rules (resource schemas, and checks
such as E3505, an SQS event source whose queue hides messages for less than the function's timeout,
which fails a first deploy) find nothing, but for the warnings named here with the reason each is
accepted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cfnlint.api import ManualArgs, lint_file

from infra.app import DEFAULT_STACK_NAME

ACCEPTED = {
    "W3005": (
        "CDK makes each Lambda function depend on its role and the role's default policy, so the "
        "policy exists before the first invocation; naming the role there repeats the Role GetAtt "
        "and changes nothing."
    ),
}


def findings(outdir: Path) -> list[str]:
    template = outdir / f"{DEFAULT_STACK_NAME}.template.json"
    return [
        f"{match.rule.id} {match.message} (line {match.linenumber})"
        for match in lint_file(template, config=ManualArgs(ignore_checks=sorted(ACCEPTED)))
    ]


@pytest.mark.parametrize("variant", ["deployed", "with_extras", "with_guardrail"])
def test_cfn_lint_finds_nothing_in_the_template(variant, request):
    assert findings(request.getfixturevalue(variant).outdir) == []


def test_a_queue_that_hides_messages_for_less_than_its_consumers_timeout_is_caught(deployed, tmp_path):
    """The check that would have caught the failed first deploy is one that runs here."""
    queue = deployed.logical_id(deployed.stack.slack.dead_letters)
    template = deployed.template.to_json()
    template["Resources"][queue]["Properties"]["VisibilityTimeout"] = 30
    (tmp_path / f"{DEFAULT_STACK_NAME}.template.json").write_text(json.dumps(template))
    assert any(finding.startswith("E3505") for finding in findings(tmp_path))


def test_every_accepted_warning_says_why():
    for rule, reason in ACCEPTED.items():
        assert rule.startswith("W") and len(reason) >= 60, rule
