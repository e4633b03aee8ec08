"""`cdk synth` / `cdk deploy` entry point (see cdk.json)."""

from __future__ import annotations

import aws_cdk as cdk

from infra.stack import VideobotStack


def build_app() -> cdk.App:
    app = cdk.App()
    VideobotStack(app, app.node.try_get_context("stack_name") or "Videobot")
    return app


if __name__ == "__main__":
    build_app().synth()
