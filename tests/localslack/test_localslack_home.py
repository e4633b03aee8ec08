"""The App Home as Slack has it: views.publish (a home view, checked as Slack checks it, images only from
Slack's picture files), files.delete (a bot deletes only its own files), the app_home_opened event and
clicks on a Home tab (the view instead of a message; no channel, no response_url)."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from tests.localslack.constants import ALICE, BOB, GENERAL
from tests.localslack.test_localslack_people import form_payload
from tests.localslack.test_localslack_webapi import error_of

SECTION = {"type": "section", "block_id": "hello", "text": {"type": "plain_text", "text": "hello"}}
PICK = {
    "type": "section",
    "block_id": "aspect",
    "text": {"type": "mrkdwn", "text": "*Aspect*"},
    "accessory": {
        "type": "static_select",
        "action_id": "aspect",
        "options": [{"text": {"type": "plain_text", "text": t}, "value": t} for t in ("16:9", "9:16")],
    },
}


def home(*blocks):
    return {"type": "home", "blocks": list(blocks)}


def upload(client, name: str, data: bytes, channel: str | None = None) -> str:
    return client.files_upload_v2(filename=name, content=data, channel=channel)["file"]["id"]


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 40, 40)).save(out, "JPEG")
    return out.getvalue()


def test_a_published_home_is_what_the_person_sees_and_a_new_publish_replaces_it(slack):
    client = slack.client()
    first = client.views_publish(user_id=ALICE, view=home(SECTION))["view"]
    second = client.views_publish(user_id=ALICE, view=home(SECTION, PICK))["view"]
    assert first["type"] == "home" and second["id"] == first["id"] and second["hash"] != first["hash"]
    assert slack.home(ALICE).view["blocks"] == [SECTION, PICK]
    assert slack.home(BOB) is None and slack.views == []  # a Home tab is not a modal


def test_publish_refuses_what_slack_refuses(slack):
    client = slack.client()
    assert error_of(lambda: client.views_publish(user_id="UNOBODY", view=home(SECTION))) == "user_not_found"
    modal = {**home(SECTION), "type": "modal", "title": {"type": "plain_text", "text": "x"}}
    assert error_of(lambda: client.views_publish(user_id=ALICE, view=modal)) == "invalid_arguments"
    too_many = home(*({"type": "divider"} for _ in range(101)))
    assert error_of(lambda: client.views_publish(user_id=ALICE, view=too_many)) == "invalid_arguments"
    twice = home(SECTION, SECTION)
    assert error_of(lambda: client.views_publish(user_id=ALICE, view=twice)) == "invalid_arguments"
    long = home({"type": "section", "text": {"type": "plain_text", "text": "x" * 3001}})
    assert error_of(lambda: client.views_publish(user_id=ALICE, view=long)) == "invalid_arguments"
    stale = client.views_publish(user_id=ALICE, view=home(SECTION))["view"]["hash"]
    client.views_publish(user_id=ALICE, view=home(PICK))
    assert (
        error_of(lambda: client.views_publish(user_id=ALICE, view=home(SECTION), hash=stale))
        == "hash_conflict"
    )


def test_an_image_shows_a_slack_file_only_if_it_is_a_picture_slack_has(slack):
    client = slack.client()
    picture, video = upload(client, "poster.jpg", jpeg()), upload(client, "video.mp4", b"\x00" * 64)

    def image(file_id):
        return home({"type": "image", "slack_file": {"id": file_id}, "alt_text": "a fox"})

    client.views_publish(user_id=ALICE, view=image(picture))
    for wrong in (video, "F0NOTHERE"):
        assert (
            error_of(lambda w=wrong: client.views_publish(user_id=ALICE, view=image(w)))
            == "invalid_arguments"
        )


def test_a_bot_deletes_its_own_file_and_it_leaves_its_message(slack):
    client = slack.client()
    file_id = upload(client, "video.mp4", b"\x00" * 64, channel=GENERAL)
    client.files_delete(file=file_id)
    assert slack.files == [] and all(not m.files for m in slack.messages(GENERAL))
    assert error_of(lambda: client.files_delete(file=file_id)) == "file_not_found"


def test_a_bot_cant_delete_a_persons_file(slack, tmp_path):
    path = tmp_path / "holiday.jpg"
    path.write_bytes(jpeg())
    theirs = slack.host_file(path, user=ALICE)
    assert error_of(lambda: slack.client().files_delete(file=theirs.id)) == "cant_delete_file"
    assert [f.id for f in slack.files] == [theirs.id]


def test_opening_the_home_tab_sends_app_home_opened_with_the_current_view(slack, app_endpoint):
    slack.open_home(ALICE)
    first = json.loads(app_endpoint.requests[-1][1])["event"]
    assert (first["type"], first["user"], first["tab"]) == ("app_home_opened", ALICE, "home")
    assert first["channel"].startswith("D") and "view" not in first  # nothing published yet
    slack.client().views_publish(user_id=ALICE, view=home(SECTION))
    slack.open_home(ALICE)
    event = json.loads(app_endpoint.requests[-1][1])["event"]
    assert event["view"]["type"] == "home" and event["view"]["blocks"] == [SECTION]


def test_a_pick_on_the_home_tab_carries_the_view_and_no_channel(slack, app_endpoint):
    published = slack.client().views_publish(user_id=ALICE, view=home(SECTION, PICK))["view"]
    assert slack.click_home("aspect", user=ALICE, value="9:16").status == 200
    payload = form_payload(app_endpoint.requests[-1][1])
    assert payload["container"] == {"type": "view", "view_id": published["id"]}
    assert payload["view"]["id"] == published["id"] and payload["view"]["type"] == "home"
    assert not {"channel", "message", "response_url"} & set(payload)
    assert payload["actions"][0]["selected_option"]["value"] == "9:16"


def test_nobody_clicks_a_home_tab_that_was_never_published(slack, app_endpoint):
    with pytest.raises(AssertionError, match="no Home tab"):
        slack.click_home("aspect", user=ALICE, value="9:16")


def test_a_select_and_a_confirmation_are_checked_as_slack_checks_them(slack):
    client = slack.client()
    stray = {
        **PICK["accessory"],
        "initial_option": {"text": {"type": "plain_text", "text": "1:1"}, "value": "1:1"},
    }
    wordy = {
        "type": "button",
        "action_id": "delete",
        "text": {"type": "plain_text", "text": "Delete"},
        "confirm": {
            "title": {"type": "plain_text", "text": "Delete?"},
            "text": {"type": "plain_text", "text": "x" * 301},
            "confirm": {"type": "plain_text", "text": "Delete"},
            "deny": {"type": "plain_text", "text": "Keep it"},
        },
    }
    for accessory in (stray, wordy, {**PICK["accessory"], "options": []}):
        view = home({**PICK, "accessory": accessory})
        assert error_of(lambda v=view: client.views_publish(user_id=ALICE, view=v)) == "invalid_arguments"
