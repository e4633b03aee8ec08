"""Slack's own payload shapes (tests/slack/slack_payloads, written from Slack's API docs), sent signed to the
real app: "Also send to channel" replies, edits and deletions, several files at once, Slack Connect file
stubs, Enterprise Grid commands and events, and buttons on ephemeral messages."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlencode

import pytest
from PIL import Image

from bot.slack.blocks import CANCEL_DRAFT, GENERATE, OPEN_SETTINGS, REROLL
from bot.slack.listeners.actions import UNKNOWN_RENDER, UNREADABLE_BUTTON
from localslack import AppResponse, Message, SlackStandIn
from tests.conftest import ALICE, CHANNEL, seen, settle
from tests.slack.slack_payloads import load_payload

GRID_USER = "W0WANDA0001"  # people in an Enterprise Grid org have W ids


@pytest.fixture
def picture(tmp_path) -> Path:
    path = tmp_path / "photo.png"
    Image.new("RGB", (320, 200), (30, 90, 160)).save(path)
    return path


def ids(slack: SlackStandIn, **values: str | int) -> dict[str, str | int]:
    ws = slack.workspace
    return {
        "team_id": ws.team_id,
        "app_id": ws.app_id,
        "bot_user_id": ws.bot_user_id,
        "channel": CHANNEL,
        "user": ALICE,
        **values,
    }


def send_event(slack: SlackStandIn, envelope: dict) -> AppResponse:
    return slack.signed_post(
        json.dumps(envelope).encode(), "application/json", kind="event_callback", payload=envelope
    )


def send_form(slack: SlackStandIn, form: dict) -> AppResponse:
    return slack.signed_post(
        urlencode(form).encode(), "application/x-www-form-urlencoded", kind="slash_command", payload=form
    )


def send_interaction(slack: SlackStandIn, payload: dict) -> AppResponse:
    body = urlencode({"payload": json.dumps(payload)}).encode()
    return slack.signed_post(body, "application/x-www-form-urlencoded", kind="block_actions", payload=payload)


def bot_changes(slack: SlackStandIn) -> list[str]:
    """Everything the bot did that people could see."""
    return [c.method for c in slack.api_calls if c.method.startswith(("chat.", "files.", "views."))]


def button_value(card: Message, action_id: str) -> str:
    return next(el["value"] for _, el in card.elements() if el["action_id"] == action_id)


# ------------------------------------------------------------------------------------ messages in a thread


def test_a_reply_also_sent_to_the_channel_refines_the_draft(slack, videobot, alice):
    root = alice.video("a fox in the snow")
    alice.draft_card(root)
    envelope = load_payload("thread_broadcast", **ids(slack, thread_ts=root.ts, ts=slack.workspace.new_ts()))
    assert send_event(slack, envelope).status == 200
    assert "It is night" in seen(alice.draft_card(root, revision=2))


def test_a_reply_the_stand_in_also_sends_to_the_channel_refines_the_draft(slack, videobot, alice):
    root = alice.video("a fox in the snow")
    alice.draft_card(root)
    slack.say(CHANNEL, "make it night", user=ALICE, thread_ts=root.ts, broadcast=True)
    assert "It is night" in seen(alice.draft_card(root, revision=2))


@pytest.mark.parametrize("change", ["message_changed", "message_deleted"])
def test_an_edit_or_a_deletion_in_a_session_thread_leaves_the_draft_alone(slack, videobot, alice, change):
    root = alice.video("a fox in the snow")
    first = alice.draft_card(root)
    reply = alice.reply(root, "make it night")
    card = alice.draft_card(root, revision=2)
    slack.wait_until(lambda: not slack.message(CHANNEL, first.ts).action_ids(), what="draft 1 closed")
    before = bot_changes(slack)
    envelope = load_payload(
        change, **ids(slack, thread_ts=root.ts, reply_ts=reply.ts, ts=slack.workspace.new_ts())
    )
    assert send_event(slack, envelope).status == 200
    settle()
    assert bot_changes(slack) == before
    assert slack.message(CHANNEL, card.ts).edited == card.edited  # the card didn't change
    assert videobot.store.get_session(CHANNEL, root.ts).draft.revision == 2


# ------------------------------------------------------------------------------------ files


def test_of_a_pdf_and_a_png_shared_together_the_png_is_animated(slack, videobot, alice, picture, tmp_path):
    brief = tmp_path / "brief.pdf"
    brief.write_bytes(b"%PDF-1.4 storyboard")
    slack.host_file(brief, user=ALICE, file_id="F0BRIEFPDF1")
    slack.host_file(picture, user=ALICE, file_id="F0PHOTOPNG2")
    ts = slack.workspace.new_ts()
    envelope = load_payload(
        "file_share_pdf_and_png",
        files_host=slack.base_url,
        **ids(slack, ts=ts, png_size=picture.stat().st_size),
    )
    assert send_event(slack, envelope).status == 200
    card = alice.draft_card(ts)
    assert "animates the shared picture" in seen(card)
    session = videobot.store.get_session(CHANNEL, ts)
    assert videobot.blobs.open(session.image_key).read() == picture.read_bytes()
    assert "the waves roll in & the clouds drift by" in session.idea


def test_a_slack_connect_file_stub_is_completed_with_files_info_before_it_is_fetched(
    slack, videobot, alice, picture
):
    slack.host_file(picture, user=ALICE, file_id="F0CONNECT03")
    ts = slack.workspace.new_ts()
    assert send_event(slack, load_payload("file_share_slack_connect_stub", **ids(slack, ts=ts))).status == 200
    card = alice.draft_card(ts)
    assert "animates the shared picture" in seen(card)
    assert [c.params.get("file") for c in slack.calls("files.info")] == ["F0CONNECT03"]
    session = videobot.store.get_session(CHANNEL, ts)
    assert videobot.blobs.open(session.image_key).read() == picture.read_bytes()


def test_a_picture_the_stand_in_shares_from_a_slack_connect_partner_is_animated(
    slack, videobot, alice, picture
):
    shared = slack.share_file(CHANNEL, picture, user=ALICE, slack_connect=True)
    assert "animates the shared picture" in seen(alice.draft_card(shared.ts))
    assert [c.params.get("file") for c in slack.calls("files.info")] == [shared.files[0].id]


def test_a_slack_connect_stub_slack_wont_describe_is_left_quietly(slack, videobot, alice):
    ts = slack.workspace.new_ts()  # F0CONNECT03 isn't in this workspace: files.info says file_not_found
    assert send_event(slack, load_payload("file_share_slack_connect_stub", **ids(slack, ts=ts))).status == 200
    settle()
    assert videobot.store.get_session(CHANNEL, ts) is None
    assert bot_changes(slack) == ["files.info"]


# ------------------------------------------------------------------------------------ Enterprise Grid


def grid_session(slack: SlackStandIn) -> Message:
    form = load_payload(
        "enterprise_slash_command",
        **ids(slack, user=GRID_USER, response_url=slack.response_url(CHANNEL, GRID_USER)),
    )
    answer = send_form(slack, form)
    assert answer.status == 200 and not answer.body.strip()  # nothing refused
    return slack.wait_until(
        lambda: next(m for m in slack.messages(CHANNEL) if m.bot_id), what="the session's root message"
    )


def test_an_enterprise_grid_slash_command_starts_a_draft(slack, videobot):
    root = grid_session(slack)
    assert "a lighthouse in a storm" in seen(root) and f"<@{GRID_USER}>" in root.text
    card = slack.wait_until(
        lambda: next(m for m in slack.thread(CHANNEL, root.ts) if GENERATE in m.action_ids()),
        what="the draft card",
    )
    assert "draft quality" in seen(card)


def test_an_enterprise_grid_reply_refines_the_draft(slack, videobot):
    root = grid_session(slack)
    slack.wait_until(
        lambda: next(m for m in slack.thread(CHANNEL, root.ts) if GENERATE in m.action_ids()),
        what="the first draft card",
    )
    envelope = load_payload(
        "enterprise_reply", **ids(slack, user=GRID_USER, thread_ts=root.ts, ts=slack.workspace.new_ts())
    )
    assert send_event(slack, envelope).status == 200
    card = slack.wait_until(
        lambda: next(m for m in slack.thread(CHANNEL, root.ts) if "Draft 2*" in json.dumps(m.blocks)),
        what="draft card 2",
    )
    assert "It is night" in seen(card)


# ------------------------------------------------------------------------------------ ephemeral messages


def click_on_ephemeral(slack: SlackStandIn, action_id: str, value: str, thread_ts: str) -> AppResponse:
    payload = load_payload(
        "block_actions_ephemeral",
        **ids(
            slack,
            message_ts=slack.workspace.new_ts(),
            trigger_id=slack.trigger_id(ALICE),
            response_url=slack.response_url(CHANNEL, ALICE, thread_ts),
            action_id=action_id,
            value=value,
        ),
    )
    assert "message" not in payload and payload["container"]["is_ephemeral"] is True
    return send_interaction(slack, payload)


def test_cancel_on_an_ephemeral_copy_of_a_draft_cancels_it(slack, videobot, alice):
    root = alice.video("a fox in the snow")
    card = alice.draft_card(root)
    answer = click_on_ephemeral(slack, CANCEL_DRAFT, button_value(card, CANCEL_DRAFT), root.ts)
    assert answer.status == 200
    closed = slack.wait_until(
        lambda: (m := slack.message(CHANNEL, card.ts)) and not m.action_ids() and m, what="the closed card"
    )
    assert "Draft 1" in seen(closed)


def test_settings_on_an_ephemeral_copy_of_a_draft_opens_the_modal(slack, videobot, alice):
    root = alice.video("a fox in the snow")
    card = alice.draft_card(root)
    assert click_on_ephemeral(slack, OPEN_SETTINGS, button_value(card, OPEN_SETTINGS), root.ts).status == 200
    # Locally the ack is answered first and the modal opened right after it (process_before_response off).
    slack.wait_until(lambda: [v.user for v in slack.views if v.open] == [ALICE], what="the modal")


def test_a_button_whose_value_cant_be_read_gets_a_polite_note(slack, videobot, alice):
    root = alice.video("a fox in the snow")
    alice.draft_card(root)
    assert click_on_ephemeral(slack, GENERATE, "not json", root.ts).status == 200
    assert alice.told("I couldn't tell what that button was for") == UNREADABLE_BUTTON
    assert not slack.calls("chat.update") or all(
        "Rendering" not in json.dumps(c.params) for c in slack.calls("chat.update")
    )


def test_a_result_button_for_a_render_we_dont_know_gets_a_polite_note(slack, videobot, alice):
    root = alice.video("a fox in the snow")
    alice.draft_card(root)
    assert click_on_ephemeral(slack, REROLL, '{"j":"job-that-never-was"}', root.ts).status == 200
    assert alice.told("I can't find that render any more") == UNKNOWN_RENDER
