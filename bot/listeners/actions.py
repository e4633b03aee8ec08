"""Buttons: Generate, Cancel. Ack at once; the work runs in lazy listeners."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt import Ack, App

from bot import blocks
from bot.conversation import Conversation
from bot.listeners.guard import explain_failures
from bot.services import Services


def acknowledge(ack: Ack) -> None:
    ack()


def _value(action: dict[str, Any]) -> dict[str, Any]:
    try:
        value = json.loads(action.get("value") or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _draft_ref(action: dict[str, Any]) -> tuple[str, str, int] | None:
    value = _value(action)
    channel, thread_ts, revision = value.get("c"), value.get("t"), value.get("r")
    if isinstance(channel, str) and isinstance(thread_ts, str) and isinstance(revision, int):
        return channel, thread_ts, revision
    return None


def register(app: App, services: Services) -> None:
    conversation = Conversation(services)
    guarded = explain_failures(services)

    @guarded
    def generate_video(body: dict[str, Any], action: dict[str, Any]) -> None:
        ref = _draft_ref(action)
        if ref is not None:
            channel, thread_ts, revision = ref
            conversation.generate(
                channel=channel, thread_ts=thread_ts, revision=revision, user=body["user"]["id"]
            )

    @guarded
    def cancel_draft(body: dict[str, Any], action: dict[str, Any]) -> None:
        ref = _draft_ref(action)
        if ref is not None:
            channel, thread_ts, revision = ref
            conversation.cancel_draft(
                channel=channel, thread_ts=thread_ts, revision=revision, user=body["user"]["id"]
            )

    @guarded
    def cancel_render(body: dict[str, Any], action: dict[str, Any]) -> None:
        job_id = _value(action).get("j")
        if isinstance(job_id, str):
            conversation.cancel_job(job_id=job_id, user=body["user"]["id"])

    app.action(blocks.GENERATE)(ack=acknowledge, lazy=[generate_video])
    app.action(blocks.CANCEL_DRAFT)(ack=acknowledge, lazy=[cancel_draft])
    app.action(blocks.CANCEL_JOB)(ack=acknowledge, lazy=[cancel_render])
