"""The README's offline commands, run as written: every `python -m bot manifest ...` and
`python -m processing_job.stage --help` in its code (inline or fenced), with a sample request URL
where the README has a placeholder (`"$URL"`, `<...>`), must work and print what the README says."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from infra.bundle import REPO_ROOT

README = REPO_ROOT / "README.md"
SAMPLE_URL = "https://abc123example.lambda-url.us-east-1.on.aws/"
# Commands that need no AWS, Slack, GPU or network: module and first arguments.
OFFLINE = ("-m bot manifest", "-m processing_job.stage --help")
PLACEHOLDERS = re.compile(r'"\$URL"|\$URL|<[^>]+>')


def code_in(markdown: str) -> list[str]:
    """Fenced blocks' lines and inline code spans (which may wrap across lines)."""
    fence = r"^[ \t]*```[a-z]*\n(.*?)^[ \t]*```"  # fences may be indented (inside list items)
    fenced = re.findall(fence, markdown, flags=re.S | re.M)
    outside = re.sub(fence, "", markdown, flags=re.S | re.M)
    inline = [" ".join(span.split()) for span in re.findall(r"`([^`]+)`", outside)]
    return [line.strip() for block in fenced for line in block.splitlines()] + inline


def offline_commands(markdown: str) -> list[str]:
    return sorted(
        {
            code
            for code in code_in(markdown)
            if re.match(r"^(\.venv/bin/)?python ", code) and any(f" {what}" in code for what in OFFLINE)
        }
    )


COMMANDS = offline_commands(README.read_text())


def run(command: str, workdir: Path) -> str:
    command = PLACEHOLDERS.sub(f'"{SAMPLE_URL}"', command).replace("/tmp/", f"{workdir}/")
    # `.venv/bin/python` as the README says, which is the interpreter running these tests.
    command = re.sub(r"^(\.venv/bin/)?python ", f"{sys.executable} ", command)
    done = subprocess.run(["bash", "-c", command], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, (command, done.stderr)
    return done.stdout


def test_the_readme_has_offline_commands_to_run():
    assert any("--request-url" in command for command in COMMANDS)
    assert any("--socket-mode" in command for command in COMMANDS)


def test_connect_slack_fills_the_manifest_with_the_bots_own_command():
    section = README.read_text().split("### Connect Slack", 1)[1].split("\n### ", 1)[0]
    assert "sed " not in section
    assert any("--request-url" in command for command in offline_commands(section))


@pytest.mark.parametrize("command", COMMANDS)
def test_each_offline_command_in_the_readme_works_as_written(command, tmp_path):
    printed = run(command, tmp_path)
    if "--request-url" in command:
        written = next(tmp_path.iterdir()).read_text() if " > " in command else printed
        manifest = yaml.safe_load(written)
        urls = [
            manifest["features"]["slash_commands"][0]["url"],
            manifest["settings"]["event_subscriptions"]["request_url"],
            manifest["settings"]["interactivity"]["request_url"],
        ]
        assert all(url.startswith(SAMPLE_URL.rstrip("/")) for url in urls), urls
        settings = [line for line in written.splitlines() if not line.lstrip().startswith("#")]
        assert not any(".invalid" in line for line in settings)  # the placeholder is gone
    elif "--socket-mode" in command:
        assert yaml.safe_load(printed)["settings"]["socket_mode_enabled"] is True
    else:
        assert "usage" in printed.lower()
