"""cdk-nag (AwsSolutions) findings this stack accepts, each acknowledged where it arises, with its reason.

cdk-nag 3 names each finding of a rule separately: a wildcard resource in a policy is
`AwsSolutions-IAM5[Resource::<the ARN as cdk-nag prints it>]`. `wildcard_resource` spells that id from
the same ARN the policy uses, so an acknowledgment follows a renamed resource.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from constructs import IConstruct


def acknowledge(construct: IConstruct, rule: str, reason: str) -> None:
    # The plain rule id, as cdk-nag's README writes it: both its validation plugin (at synth) and
    # `validate_scope` honour it. (CDK files it under "Annotation::"; the plugin-namespaced form
    # "AwsSolutions::<rule>" that CDK's report suggests is honoured at synth only.)
    cdk.Validations.of(construct).acknowledge(cdk.Acknowledgment(id=rule, reason=reason))


def wildcard_resource(scope: IConstruct, arn: str) -> str:
    """The IAM5 finding id for `arn` (which may hold tokens) in a policy of `scope`'s stack."""
    return f"AwsSolutions-IAM5[Resource::{_as_nag_prints(cdk.Stack.of(scope).resolve(arn))}]"


def _as_nag_prints(value: Any) -> str:
    if isinstance(value, str):
        return value
    if "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(_as_nag_prints(part) for part in parts)
    if "Fn::GetAtt" in value:
        logical_id, attribute = value["Fn::GetAtt"]
        return f"<{logical_id}.{attribute}>"
    if "Ref" in value:
        return f"<{value['Ref']}>"
    raise ValueError(f"Can't spell a cdk-nag finding for {value!r}")
