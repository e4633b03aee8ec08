"""Slack's own request bodies, written out as Slack's API docs show them (not built by our stand-in), with
`${name}` placeholders for what a test must fill in (the channel, the thread's ts, ids).

Addresses on `https://files.slack.com/` are Slack's file host; in tests the local stand-in plays it, so
`load_payload(..., files_host=slack.base_url)` points them there (the app allows the stand-in's loopback
host exactly as it allows files.slack.com).
"""

from __future__ import annotations

import json
from pathlib import Path
from string import Template
from typing import Any

HERE = Path(__file__).parent
SLACK_FILES = "https://files.slack.com/"


def load_payload(name: str, *, files_host: str | None = None, **values: str | int) -> dict[str, Any]:
    """The payload in `<name>.json` with its placeholders filled (strings JSON-escaped); every placeholder
    must be given."""
    filled = {k: json.dumps(v)[1:-1] if isinstance(v, str) else str(v) for k, v in values.items()}
    text = Template((HERE / f"{name}.json").read_text()).substitute(filled)
    if files_host is not None:
        text = text.replace(SLACK_FILES, files_host)
    return json.loads(text)
