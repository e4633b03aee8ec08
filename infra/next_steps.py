"""What `make deploy` prints last: the commands that come next, with this deployment's names filled in.

    python -m infra.next_steps cdk.out/outputs.json      (the file `cdk deploy --outputs-file` writes)

Staging the weights is recommended, not required (without it each render downloads its model from the
Hugging Face hub first), so it comes first, as the command to copy.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path

STAGE_OUTPUT = "StageWeightsCommand"
MANIFEST_OUTPUT = "SlackManifestCommand"


def next_steps(outputs: Mapping[str, Mapping[str, str]]) -> str:
    """The lines to print for each deployed stack in `outputs` ({stack: {output key: value}})."""
    lines = []
    for stack, values in outputs.items():
        if STAGE_OUTPUT not in values:
            continue
        lines += [
            f"{stack} is deployed. Next (README, Deploying to AWS):",
            "  1. Stage the model's weights once (recommended: otherwise every render first downloads",
            "     them from the Hugging Face hub, minutes of GPU time each):",
            f"       {values[STAGE_OUTPUT]}",
            "  2. Print the Slack app manifest for this deployment and create the app from it:",
            f"       {values[MANIFEST_OUTPUT]}",
            "  3. Put the app's signing secret and bot token into the secret (README, Connect Slack).",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m infra.next_steps cdk.out/outputs.json", file=sys.stderr)
        return 2
    path = Path(args[0])
    if not path.is_file():
        print(f"No {path}: see the stack's outputs in the CloudFormation console.", file=sys.stderr)
        return 1
    print(next_steps(json.loads(path.read_text())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
