"""The CDK app, synthesized once per test session (a synth takes seconds), in three shapes: the defaults
of cdk.json, the optional extras switched on (jobs in a VPC, a guardrail of its own, an alarm address),
and the guardrail the stack creates.

Each runs cdk-nag's AwsSolutions checks as `make synth` does: an unacknowledged finding fails the synth.
Bundling the Lambda code (pip, PyPI) is skipped, as CDK allows with `aws:cdk:bundling-stacks=[]`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from infra.app import DEFAULT_STACK_NAME, build_app
from infra.stack import VideobotStack

SKIP_BUNDLING = {"aws:cdk:bundling-stacks": []}
EXTRAS = {
    "videobot:job_vpc": True,
    "videobot:guardrail_id": "gr0abc123def",
    "videobot:guardrail_version": "2",
    "videobot:alarm_email": "ops@example.com",
    "videobot:allowed_channels": "CVIDEOS,CMOVIES",
    "videobot:slack_reserved_concurrency": "false",
}


@dataclass
class Synthesized:
    app: cdk.App
    stack: VideobotStack
    template: Template
    outdir: Path

    def resources(self, kind: str) -> dict[str, dict[str, Any]]:
        return self.template.find_resources(kind)

    def properties(self, kind: str) -> list[dict[str, Any]]:
        return [resource.get("Properties", {}) for resource in self.resources(kind).values()]

    def logical_id(self, construct: Any) -> str:
        resource = construct.node.default_child or construct  # an L2's resource, or an L1 itself
        return self.stack.resolve(resource.logical_id)

    def statements(self, role: Any) -> list[dict[str, Any]]:
        """Every statement of the inline policies attached to `role`."""
        role_id = self.logical_id(role)
        return [
            statement
            for policy in self.properties("AWS::IAM::Policy")
            if {"Ref": role_id} in policy["Roles"]
            for statement in policy["PolicyDocument"]["Statement"]
        ]


def synthesize(outdir: Path, context: dict[str, Any]) -> Synthesized:
    app = build_app({**SKIP_BUNDLING, **context}, outdir=str(outdir))
    stack = app.node.find_child(DEFAULT_STACK_NAME)
    assembly = app.synth()  # runs the cdk-nag plugin, as `make synth` does
    template = Template.from_json(assembly.get_stack_by_name(stack.stack_name).template)
    return Synthesized(app=app, stack=stack, template=template, outdir=outdir)


@pytest.fixture(scope="session")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The stack as cdk.json configures it."""
    return synthesize(tmp_path_factory.mktemp("cdk.out"), {})


@pytest.fixture(scope="session")
def with_guardrail(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The stack with the guardrail it creates itself (`videobot:create_guardrail`)."""
    return synthesize(tmp_path_factory.mktemp("cdk.out-guardrail"), {"videobot:create_guardrail": "true"})


@pytest.fixture(scope="session")
def with_extras(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The stack with the optional parts on, given as `-c` strings would be."""
    return synthesize(tmp_path_factory.mktemp("cdk.out-extras"), EXTRAS)
