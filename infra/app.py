"""`cdk synth` / `cdk deploy` entry point (see cdk.json), and `make synth` without the CLI.

cdk-nag's AwsSolutions checks run at every synth: an unacknowledged finding stops it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from infra.stack import VideobotStack

CDK_JSON = Path(__file__).resolve().parent.parent / "cdk.json"
DEFAULT_STACK_NAME = "Videobot"


def project_context() -> dict[str, Any]:
    """cdk.json's context. The CLI passes it on by itself; a bare `python -m infra.app` reads it here."""
    return dict(json.loads(CDK_JSON.read_text()).get("context", {}))


def build_app(
    context: Mapping[str, Any] | None = None, *, checks: bool = True, outdir: str | None = None
) -> cdk.App:
    # The CLI's context (cdk.json, cdk.context.json, -c) arrives through the environment and wins.
    app = cdk.App(context={**project_context(), **(context or {})}, outdir=outdir)
    # Environment-agnostic: the account and region are those `cdk deploy` runs with.
    VideobotStack(app, app.node.try_get_context("stack_name") or DEFAULT_STACK_NAME)
    if checks:
        cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app


if __name__ == "__main__":
    build_app().synth()
