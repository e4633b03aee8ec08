"""Buttons: on draft cards (Generate, Settings, Cancel), on progress (Cancel) and on results (Reroll,
Refine, Final render, Try again, Extend, and the Smooth and Upscale choices). Ack at once; the work
runs in lazy listeners, except Settings, whose modal must open within the 3 seconds the click's
trigger_id lives."""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.conversation.conversation import Conversation
from bot.slack import blocks
from bot.slack.chat import ChatError
from bot.slack.listeners.guard import SORRY, explain_failures, where

log = logging.getLogger(__name__)

UNKNOWN_RENDER = (
    "I can't find that render any more, so I did nothing. Start a new video with `/video`, or use the "
    "buttons on the newest message in its thread."
)
UNREADABLE_BUTTON = (
    "I couldn't tell what that button was for, so I did nothing. Use the buttons on the newest message in "
    "the video's thread, or start again with `/video`."
)


def acknowledge(ack: Ack) -> None:
    ack()


def _value(action: dict[str, Any]) -> dict[str, Any]:
    """A button's value, or the value of the option picked from a select."""
    picked = action.get("selected_option") or {}
    raw = action.get("value") or (picked.get("value") if isinstance(picked, dict) else None)
    try:
        value = json.loads(raw or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def draft_ref(action: dict[str, Any]) -> tuple[str, str, int] | None:
    """(channel, thread_ts, revision) from a draft card's button, or None for anything malformed."""
    value = _value(action)
    channel, thread_ts, revision = (
        blocks.ref_field(value, key) for key in ("channel", "thread_ts", "revision")
    )
    if isinstance(channel, str) and isinstance(thread_ts, str) and type(revision) is int:
        return channel, thread_ts, revision
    return None


def job_ref(action: dict[str, Any]) -> str | None:
    job_id = blocks.ref_field(_value(action), "job_id")
    return job_id if isinstance(job_id, str) and job_id else None


def factor_ref(action: dict[str, Any]) -> tuple[str, int] | None:
    """(job_id, factor) from a Smooth or Upscale choice, or None for anything malformed."""
    job_id, factor = job_ref(action), _value(action).get("factor")
    return (job_id, factor) if job_id and type(factor) is int else None


def register(app: App, conversation: Conversation) -> None:
    guarded = explain_failures(conversation.services)

    def open_settings(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        ref = draft_ref(action)
        if ref is None:
            unreadable(body)
            return
        channel, thread_ts, revision = ref
        user = body["user"]["id"]
        try:
            view = conversation.settings_view(
                channel=channel, thread_ts=thread_ts, revision=revision, user=user
            )
            if view is not None:
                client.views_open(trigger_id=body["trigger_id"], view=view)
        except SlackApiError as error:
            log.warning("could not open the settings: %s", error.response.get("error"))
            conversation.services.chat.ephemeral(
                channel,
                user,
                "I couldn't open the settings in time. Please press ⚙️ Settings again.",
                thread_ts=thread_ts,
            )
        except Exception:
            log.exception("open_settings failed")
            conversation.services.chat.ephemeral(channel, user, SORRY, thread_ts=thread_ts)

    def unreadable(body: dict[str, Any], note: str = UNREADABLE_BUTTON) -> None:
        """A button we can't act on (an old or hand-made message): said so, never a traceback. Works for
        clicks on ephemeral messages too, whose payload has a container but no `message`."""
        channel, user, thread_ts = where(body)
        log.warning("a button could not be acted on: %s", note[:40])
        if channel and user:
            try:
                conversation.services.chat.ephemeral(channel, user, note, thread_ts=thread_ts)
            except ChatError:
                log.warning("could not tell %s about a button", user)

    def on_draft(name: str, use_case: Any) -> Any:
        def run(body: dict[str, Any], action: dict[str, Any]) -> None:
            ref = draft_ref(action)
            if ref is None:
                unreadable(body)
            else:
                channel, thread_ts, revision = ref
                use_case(channel=channel, thread_ts=thread_ts, revision=revision, user=body["user"]["id"])

        # Named before guarding: lazy listeners are found again by their name, and failures logged by it.
        run.__name__ = run.__qualname__ = name
        return guarded(run)

    def on_job(name: str, use_case: Any) -> Any:
        def run(body: dict[str, Any], action: dict[str, Any]) -> None:
            job_id = job_ref(action)
            if job_id is None:
                unreadable(body)
            elif conversation.store.get_job(job_id) is None:
                unreadable(body, UNKNOWN_RENDER)  # expired, or never ours
            else:
                use_case(job_id=job_id, user=body["user"]["id"])

        # Named before guarding: lazy listeners are found again by their name, and failures logged by it.
        run.__name__ = run.__qualname__ = name
        return guarded(run)

    def on_factor(name: str, use_case: Any) -> Any:
        def run(body: dict[str, Any], action: dict[str, Any]) -> None:
            ref = factor_ref(action)
            if ref is None:
                unreadable(body)
            elif conversation.store.get_job(ref[0]) is None:
                unreadable(body, UNKNOWN_RENDER)
            else:
                use_case(job_id=ref[0], user=body["user"]["id"], factor=ref[1])

        # Named before guarding: lazy listeners are found again by their name, and failures logged by it.
        run.__name__ = run.__qualname__ = name
        return guarded(run)

    generate_video = on_draft("generate_video", conversation.generate)
    cancel_draft = on_draft("cancel_draft", conversation.cancel_draft)

    app.action(blocks.GENERATE)(ack=acknowledge, lazy=[generate_video])
    app.action(blocks.OPEN_SETTINGS)(open_settings)
    app.action(blocks.CANCEL_DRAFT)(ack=acknowledge, lazy=[cancel_draft])
    app.action(blocks.CANCEL_JOB)(ack=acknowledge, lazy=[on_job("cancel_render", conversation.cancel_job)])
    app.action(blocks.REROLL)(ack=acknowledge, lazy=[on_job("reroll_render", conversation.reroll)])
    app.action(blocks.FINAL_RENDER)(ack=acknowledge, lazy=[on_job("render_final", conversation.final_render)])
    app.action(blocks.RETRY)(ack=acknowledge, lazy=[on_job("retry_render", conversation.retry)])
    app.action(blocks.REFINE)(ack=acknowledge, lazy=[on_job("refine_from_render", conversation.refine_from)])
    app.action(blocks.EXTEND_VIDEO)(ack=acknowledge, lazy=[on_job("extend_video", conversation.extend)])
    app.action(blocks.SMOOTH_VIDEO)(ack=acknowledge, lazy=[on_factor("smooth_video", conversation.smooth)])
    app.action(blocks.UPSCALE_VIDEO)(ack=acknowledge, lazy=[on_factor("upscale_video", conversation.upscale)])
    # 👍 / 👎 under a result (bot.conversation.votes)
    app.action(blocks.FEEDBACK_UP)(ack=acknowledge, lazy=[on_job("vote_up", conversation.vote_up)])
    app.action(blocks.FEEDBACK_DOWN)(ack=acknowledge, lazy=[on_job("vote_down", conversation.vote_down)])
