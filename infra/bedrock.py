"""Which Bedrock resources a model id names, for an IAM policy that allows that model and no other.

A cross-region inference profile (`us.anthropic...`) is invoked by its profile ARN, and Bedrock then
checks the caller's access to the foundation model in whichever region of the profile serves the
request. So a policy needs the profile in this region and the foundation model in any region, and
the second is only allowed through that profile (the `bedrock:InferenceProfileArn` condition).
"""

from __future__ import annotations

from dataclasses import dataclass

# The geographic prefixes of system-defined cross-region inference profiles.
PROFILE_PREFIXES = ("us", "us-gov", "eu", "apac", "jp", "au", "ca", "global")


@dataclass(frozen=True)
class ModelAccess:
    """What `bedrock:InvokeModel*` must name. `profile_arn` is None for a plain foundation model id."""

    profile_arn: str | None
    foundation_model_arns: tuple[str, ...]


def model_access(model_id: str, *, partition: str, region: str, account: str) -> ModelAccess:
    """The ARNs for `model_id`: a foundation model or a system-defined inference profile, by id or ARN."""
    if model_id.startswith("arn:"):
        kind, _, name = model_id.split(":", 5)[-1].partition("/")
        if kind not in ("foundation-model", "inference-profile"):
            raise ValueError(f"Give a foundation model or inference profile id, not {model_id}.")
        model_id = name
    prefix, _, base_model = model_id.partition(".")
    if prefix not in PROFILE_PREFIXES or not base_model:
        return ModelAccess(None, (f"arn:{partition}:bedrock:{region}::foundation-model/{model_id}",))
    # Global profiles route anywhere, and Bedrock checks those calls against a region-less ARN.
    regions = ("*", "") if prefix == "global" else ("*",)
    return ModelAccess(
        profile_arn=f"arn:{partition}:bedrock:{region}:{account}:inference-profile/{model_id}",
        foundation_model_arns=tuple(
            f"arn:{partition}:bedrock:{where}::foundation-model/{base_model}" for where in regions
        ),
    )


def guardrail_arn(guardrail_id: str, *, partition: str, region: str, account: str) -> str:
    if guardrail_id.startswith("arn:"):
        return guardrail_id
    return f"arn:{partition}:bedrock:{region}:{account}:guardrail/{guardrail_id}"
