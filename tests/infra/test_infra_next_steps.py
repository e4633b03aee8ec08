"""`make deploy` ends with what comes next: staging the weights (recommended) and the Slack manifest,
as commands with the deployment's names filled in, from the stack's own outputs."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from infra.bundle import REPO_ROOT

OUTPUTS = {
    "Videobot": {
        "SlackRequestUrl": "https://abc123.lambda-url.us-east-1.on.aws/",
        "MediaBucketName": "videobot-storagemedia-1a2b3c",
        "StageWeightsCommand": "make stage-model MODEL=cogvideox-5b BUCKET=videobot-storagemedia-1a2b3c",
        "SlackManifestCommand": ".venv/bin/python -m bot manifest --request-url https://abc123.lambda-url.us-east-1.on.aws/",
        "SlackSecretName": "SlackSecret-xyz",
    }
}


def test_the_stack_outputs_the_staging_and_manifest_commands_with_its_names(deployed):
    outputs = deployed.template.to_json()["Outputs"]
    stack = deployed.stack
    stage = json.dumps(outputs["StageWeightsCommand"]["Value"])
    assert "make stage-model MODEL=cogvideox-5b BUCKET=" in stage
    assert deployed.logical_id(stack.storage.bucket) in stage
    manifest = json.dumps(outputs["SlackManifestCommand"]["Value"])
    assert "-m bot manifest --request-url " in manifest
    assert deployed.logical_id(stack.slack.url) in manifest


def test_next_steps_print_the_staging_command_first(tmp_path):
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(OUTPUTS))
    printed = subprocess.run(
        [sys.executable, "-m", "infra.next_steps", str(path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    stage = printed.index("make stage-model MODEL=cogvideox-5b BUCKET=videobot-storagemedia-1a2b3c")
    assert stage < printed.index("-m bot manifest --request-url https://abc123.lambda-url")


def test_make_deploy_writes_the_outputs_and_ends_with_the_next_steps():
    # Run as a top-level make even under `make test`, whose MAKELEVEL would add "Entering directory" lines.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}
    planned = subprocess.run(
        ["make", "--no-print-directory", "--dry-run", "--always-make", "deploy"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    deploy = next(line for line in planned if " deploy " in line and "cdk" in line)
    assert "--outputs-file cdk.out/outputs.json" in deploy
    assert planned[-1].endswith("-m infra.next_steps cdk.out/outputs.json")


def test_the_request_url_output_says_to_print_the_manifest_with_it(deployed):
    description = deployed.template.to_json()["Outputs"]["SlackRequestUrl"]["Description"]
    assert "python -m bot manifest --request-url" in description
    assert "REQUEST_URL" not in description
