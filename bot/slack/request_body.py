"""Slack request bodies, read before (or without) Bolt: JSON (events), `payload=<json>`
(interactions) or a form (commands). Nothing here trusts the body: anything malformed reads as {}."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs


def slack_body(body: str) -> dict[str, Any]:
    """A Slack request body as a dict: JSON (events), `payload=<json>` (interactions) or a form."""
    if body.lstrip().startswith("{"):
        return json_object(body)
    form = {k: v[0] for k, v in parse_qs(body).items()}
    return json_object(form["payload"]) if "payload" in form else form


def dig(data: object, *path: str | int) -> object:
    for step in path:
        if isinstance(step, int) and isinstance(data, list) and len(data) > step:
            data = data[step]
        elif isinstance(step, str) and isinstance(data, dict):
            data = data.get(step)
        else:
            return None
    return data


def json_object(text: str) -> dict[str, Any]:
    """The JSON object `text` holds; {} for anything else (malformed, or not an object)."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
        return {}
    return data if isinstance(data, dict) else {}
