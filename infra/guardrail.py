"""An opt-in Bedrock Guardrail for the prompts (`videobot:create_guardrail`), and its published version.

Content filters with defaults for a workplace Slack app that makes short films: sexual content and
hate blocked at the highest strength; violence, insults and misconduct at medium (a sword fight or
a car chase is a fair film prompt; gore and instructions for harm are not); prompt attacks on the
input at the highest. The five content filters read pictures too (the image modality), since
people share pictures to animate; prompt-attack filtering is text only, as Bedrock offers it.

A guardrail version is immutable and CloudFormation replaces a version only when its properties
change, so the version's description carries a digest of the filters: changing them publishes a
new version, and the functions move to it in the same deploy.
"""

from __future__ import annotations

import hashlib
import json

import aws_cdk as cdk
from aws_cdk import aws_bedrock as bedrock
from constructs import Construct

TEXT_AND_IMAGE = ["TEXT", "IMAGE"]
# filter type -> (input strength, output strength, modalities)
CONTENT_FILTERS: dict[str, tuple[str, str, list[str]]] = {
    "SEXUAL": ("HIGH", "HIGH", TEXT_AND_IMAGE),
    "HATE": ("HIGH", "HIGH", TEXT_AND_IMAGE),
    "VIOLENCE": ("MEDIUM", "MEDIUM", TEXT_AND_IMAGE),
    "INSULTS": ("MEDIUM", "MEDIUM", TEXT_AND_IMAGE),
    "MISCONDUCT": ("MEDIUM", "MEDIUM", TEXT_AND_IMAGE),
    # Bedrock applies prompt-attack filtering to input only: its output strength must be NONE.
    "PROMPT_ATTACK": ("HIGH", "NONE", ["TEXT"]),
}
BLOCKED_INPUT = "Sorry, I can't make a video of that. Please try a different idea."
BLOCKED_OUTPUT = "Sorry, I couldn't write a prompt for that idea. Please try a different one."


class ContentGuardrail(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        filters = [
            bedrock.CfnGuardrail.ContentFilterConfigProperty(
                type=kind,
                input_strength=strengths[0],
                output_strength=strengths[1],
                input_modalities=strengths[2],
                output_modalities=strengths[2],
            )
            for kind, strengths in CONTENT_FILTERS.items()
        ]
        self.guardrail = bedrock.CfnGuardrail(
            self,
            "Guardrail",
            name=f"{stack.stack_name}-prompts",  # unique per account and region, as stack names are
            description="videobot: checks people's ideas and pictures and the prompts written from them.",
            blocked_input_messaging=BLOCKED_INPUT,
            blocked_outputs_messaging=BLOCKED_OUTPUT,
            content_policy_config=bedrock.CfnGuardrail.ContentPolicyConfigProperty(filters_config=filters),
        )
        digest = hashlib.sha256(
            json.dumps([CONTENT_FILTERS, BLOCKED_INPUT, BLOCKED_OUTPUT], sort_keys=True).encode()
        ).hexdigest()[:12]
        self.version = bedrock.CfnGuardrailVersion(
            self,
            "Version",
            guardrail_identifier=self.guardrail.attr_guardrail_id,
            description=f"videobot content filters {digest}",
        )

    @property
    def guardrail_id(self) -> str:
        return self.guardrail.attr_guardrail_id

    @property
    def guardrail_arn(self) -> str:
        return self.guardrail.attr_guardrail_arn

    @property
    def version_number(self) -> str:
        return self.version.attr_version
