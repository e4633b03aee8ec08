"""Storyboard buttons and the shot editor: ✏️ Edit (a modal, opened in the ack while the click's
trigger_id lives), ⬆️ / ⬇️ / 🗑️ on each shot, 🔗 continuity and ▶️ Generate on the card, 🔁 Render shot N
again, 🔁 Rebuild the cut and 🛑 Cancel on the progress message. Everything else runs in lazy listeners."""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.conversation.conversation import Conversation
from bot.conversation.storyboarding import Storyboarding
from bot.slack import story_blocks
from bot.slack.listeners.guard import explain_failures, where
from processing_job.spec import MAX_PROMPT_CHARS

log = logging.getLogger(__name__)

UNREADABLE = (
    "I couldn't tell what that button was for, so I did nothing. Use the buttons on the newest storyboard "
    "card, or start again with `/video story`."
)


def acknowledge(ack: Ack) -> None:
    ack()


def story_ref(raw: str | None) -> tuple[str, str, int, int | None] | None:
    """(channel, thread_ts, revision, shot or None) from a button's value or the modal's metadata."""
    try:
        value = json.loads(raw or "{}")
    except ValueError:
        return None
    if not isinstance(value, dict):
        return None
    channel, thread_ts, revision, shot = (value.get(k) for k in ("channel", "thread_ts", "revision", "shot"))
    if not (isinstance(channel, str) and isinstance(thread_ts, str) and type(revision) is int):
        return None
    if shot is not None and type(shot) is not int:
        return None
    return channel, thread_ts, revision, shot


def register(app: App, conversation: Conversation) -> None:
    story = Storyboarding(conversation.services)
    guarded = explain_failures(conversation.services)

    def unreadable(body: dict[str, Any]) -> None:
        channel, user, thread_ts = where(body)
        if channel and user:
            conversation.services.chat.ephemeral(channel, user, UNREADABLE, thread_ts=thread_ts)

    def on_button(name: str, run: Any, *, needs_shot: bool) -> Any:
        def work(body: dict[str, Any], action: dict[str, Any]) -> None:
            ref = story_ref(action.get("value"))
            if ref is None or (needs_shot and ref[3] is None):
                unreadable(body)
                return
            channel, thread_ts, revision, shot = ref
            run(channel=channel, thread_ts=thread_ts, revision=revision, shot=shot, user=body["user"]["id"])

        work.__name__ = work.__qualname__ = name  # lazy listeners are found again by their name
        return guarded(work)

    def open_editor(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        ref = story_ref(action.get("value"))
        if ref is None or ref[3] is None:
            unreadable(body)
            return
        channel, thread_ts, revision, shot = ref
        user = body["user"]["id"]
        view = story.edit_view(channel=channel, thread_ts=thread_ts, shot=shot, revision=revision, user=user)
        if view is None:
            return
        try:
            client.views_open(trigger_id=body["trigger_id"], view=view)
        except SlackApiError as error:
            log.warning("could not open the shot editor: %s", error.response.get("error"))
            conversation.services.chat.ephemeral(
                channel,
                user,
                "I couldn't open the editor in time. Please press ✏️ Edit again.",
                thread_ts=thread_ts,
            )

    def check_edit(ack: Ack, view: dict[str, Any]) -> None:
        problems = _edit_problems(view.get("state", {}).get("values", {}))
        if problems:
            ack(response_action="errors", errors=problems)
            return
        ack()

    @guarded
    def save_edit(body: dict[str, Any], view: dict[str, Any]) -> None:
        ref = story_ref(view.get("private_metadata"))
        if ref is None or ref[3] is None:
            return
        channel, thread_ts, revision, shot = ref
        values = view.get("state", {}).get("values", {})
        if _edit_problems(values):  # Bolt runs this whatever check_edit answered: what it refused stays out
            return
        story.edit(
            channel=channel,
            thread_ts=thread_ts,
            shot=shot,
            revision=revision,
            user=body["user"]["id"],
            title=_typed(values, story_blocks.SHOT_TITLE_INPUT),
            prompt=_typed(values, story_blocks.SHOT_PROMPT_INPUT),
        )

    def remove(**ref: Any) -> None:
        story.remove(**ref)

    def up(*, shot: int, **ref: Any) -> None:
        story.move(shot=shot, by=-1, **ref)

    def down(*, shot: int, **ref: Any) -> None:
        story.move(shot=shot, by=1, **ref)

    def continuity(*, shot: int | None, **ref: Any) -> None:
        story.toggle_continuity(**ref)

    def generate(*, shot: int | None, **ref: Any) -> None:
        story.generate(**ref)

    def retry(*, revision: int, **ref: Any) -> None:
        story.retry_shot(**ref)

    def rebuild(*, revision: int, shot: int | None, **ref: Any) -> None:
        story.rebuild_cut(**ref)

    def cancel(*, revision: int, shot: int | None, **ref: Any) -> None:
        story.cancel(**ref)

    app.action(story_blocks.STORY_EDIT)(open_editor)
    app.view(story_blocks.STORY_EDIT_VIEW)(ack=check_edit, lazy=[save_edit])
    app.action(story_blocks.STORY_REMOVE)(
        ack=acknowledge, lazy=[on_button("remove_shot", remove, needs_shot=True)]
    )
    app.action(story_blocks.STORY_UP)(ack=acknowledge, lazy=[on_button("shot_up", up, needs_shot=True)])
    app.action(story_blocks.STORY_DOWN)(ack=acknowledge, lazy=[on_button("shot_down", down, needs_shot=True)])
    app.action(story_blocks.STORY_CONTINUITY)(
        ack=acknowledge, lazy=[on_button("story_continuity", continuity, needs_shot=False)]
    )
    app.action(story_blocks.STORY_GENERATE)(
        ack=acknowledge, lazy=[on_button("generate_storyboard", generate, needs_shot=False)]
    )
    app.action(story_blocks.STORY_RETRY_SHOT)(
        ack=acknowledge, lazy=[on_button("retry_shot", retry, needs_shot=True)]
    )
    app.action(story_blocks.STORY_REBUILD_CUT)(
        ack=acknowledge, lazy=[on_button("rebuild_cut", rebuild, needs_shot=False)]
    )
    app.action(story_blocks.STORY_CANCEL)(
        ack=acknowledge, lazy=[on_button("cancel_storyboard", cancel, needs_shot=False)]
    )


def _typed(values: dict[str, Any], field: tuple[str, str]) -> str:
    block_id, action_id = field
    raw = (values.get(block_id) or {}).get(action_id) or {}
    return str(raw.get("value") or "")  # a modal's text comes as typed (not escaped like messages)


def _edit_problems(values: dict[str, Any]) -> dict[str, str]:
    """What the shot editor refuses, by input block: the modal's own limits, which a hand-made
    submission doesn't have to respect."""
    prompt = _typed(values, story_blocks.SHOT_PROMPT_INPUT)
    title = _typed(values, story_blocks.SHOT_TITLE_INPUT)
    problems = {}
    if not prompt.strip():
        problems[story_blocks.SHOT_PROMPT_INPUT[0]] = "A shot needs a prompt."
    elif len(prompt) > MAX_PROMPT_CHARS:
        problems[story_blocks.SHOT_PROMPT_INPUT[0]] = (
            f"The prompt is {len(prompt)} characters; please keep it under {MAX_PROMPT_CHARS}."
        )
    if len(title) > story_blocks.SHOT_TITLE_MAX_CHARS:
        problems[story_blocks.SHOT_TITLE_INPUT[0]] = (
            f"Keep the title under {story_blocks.SHOT_TITLE_MAX_CHARS} characters."
        )
    return problems
