"""Slack (and people) towards the app: signed requests in Slack's shapes, answers shown as Slack would."""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs

import pytest
from slack_sdk.signature import SignatureVerifier

from tests.localslack.constants import ALICE, BOB, GENERAL, SECRET

BUTTONS = [
    {
        "type": "actions",
        "block_id": "draft-1",
        "elements": [
            {
                "type": "button",
                "text": {"type": "plain_text", "text": "Generate"},
                "action_id": "generate",
                "value": "d1",
            },
            {
                "type": "button",
                "text": {"type": "plain_text", "text": "Cancel"},
                "action_id": "cancel",
                "value": "d1",
            },
        ],
    }
]
MODAL = {
    "type": "modal",
    "callback_id": "settings",
    "private_metadata": "session-1",
    "title": {"type": "plain_text", "text": "Settings"},
    "submit": {"type": "plain_text", "text": "Save"},
    "blocks": [
        {
            "type": "input",
            "block_id": "seed",
            "label": {"type": "plain_text", "text": "Seed"},
            "element": {"type": "plain_text_input", "action_id": "value", "initial_value": "42"},
        },
        {
            "type": "input",
            "block_id": "model",
            "label": {"type": "plain_text", "text": "Model"},
            "element": {
                "type": "static_select",
                "action_id": "pick",
                "options": [
                    {"text": {"type": "plain_text", "text": "2B"}, "value": "2b"},
                    {"text": {"type": "plain_text", "text": "5B"}, "value": "5b"},
                ],
            },
        },
    ],
}


def answer_json(data: dict):
    return lambda headers, body: (200, {"Content-Type": "application/json"}, json.dumps(data).encode())


def form_payload(body: bytes) -> dict:
    return json.loads(parse_qs(body.decode())["payload"][0])


def test_signed_requests_verify_and_a_tampered_body_does_not(slack, app_endpoint):
    slack.say(GENERAL, "hello", user=ALICE)
    headers, body = app_endpoint.requests[-1]
    verifier = SignatureVerifier(SECRET)
    assert verifier.is_valid_request(body, headers)
    assert not verifier.is_valid_request(body.replace(b"hello", b"hellO"), headers)


def test_forged_and_stale_requests_carry_what_the_test_gave(slack, app_endpoint):
    slack.signed_post(b"{}", "application/json", timestamp=int(time.time()) - 600)
    slack.signed_post(b"{}", "application/json", signature="v0=forged")
    verifier = SignatureVerifier(SECRET)
    assert [verifier.is_valid_request(b, h) for h, b in app_endpoint.requests] == [False, False]


def test_slash_command_sends_slacks_form_and_shows_the_ack_text_to_its_person(slack, app_endpoint):
    app_endpoint.answer = answer_json({"text": "On it!"})
    response = slack.slash_command("/video", "a corgi --seed 7", user=ALICE, channel=GENERAL)

    form = {
        k: v[0] for k, v in parse_qs(app_endpoint.requests[-1][1].decode(), keep_blank_values=True).items()
    }
    assert app_endpoint.requests[-1][0]["Content-Type"] == "application/x-www-form-urlencoded"
    assert {k: form[k] for k in ("command", "text", "user_id", "channel_id", "channel_name", "team_id")} == {
        "command": "/video",
        "text": "a corgi --seed 7",
        "user_id": ALICE,
        "channel_id": GENERAL,
        "channel_name": "general",
        "team_id": "TLOCAL",
    }
    assert form["response_url"].startswith(slack.base_url) and form["trigger_id"]
    assert response.status == 200 and response.json == {"text": "On it!"}
    assert [m.text for m in slack.ephemerals(ALICE)] == ["On it!"]


def test_a_slow_ack_shows_slacks_operation_timeout_instead_of_the_answer(slack, app_endpoint):
    slack.ack_timeout = 0.05

    def slow(headers, body):
        time.sleep(0.15)
        return 200, {}, b"late"

    app_endpoint.answer = slow
    slack.slash_command("/video", "x", user=ALICE, channel=GENERAL)
    assert [(m.user, m.text) for m in slack.ephemerals(ALICE)] == [
        ("USLACKBOT", '/video failed with the error "operation_timeout"')
    ]


def test_response_url_posts_ephemerally_then_replaces_the_original(slack, app_endpoint):
    slack.slash_command("/video", "x", user=ALICE, channel=GENERAL)
    form = parse_qs(app_endpoint.requests[-1][1].decode())
    url = form["response_url"][0]
    from slack_sdk.webhook import WebhookClient

    hook = WebhookClient(url)
    assert hook.send(text="queued").status_code == 200
    assert hook.send(text="rendering", replace_original=True).status_code == 200
    assert [(m.text, m.edited) for m in slack.ephemerals(ALICE)] == [("rendering", 1)]


def test_click_sends_a_block_actions_payload_like_slacks(slack, app_endpoint):
    root = slack.client().chat_postMessage(channel=GENERAL, text="root")
    card = slack.client().chat_postMessage(
        channel=GENERAL, thread_ts=root["ts"], text="draft", blocks=BUTTONS
    )
    message = slack.message(GENERAL, card["ts"])
    slack.click(message, "generate", user=BOB)

    payload = form_payload(app_endpoint.requests[-1][1])
    assert payload["type"] == "block_actions" and payload["user"]["id"] == BOB
    assert payload["container"] == {
        "type": "message",
        "message_ts": card["ts"],
        "channel_id": GENERAL,
        "is_ephemeral": False,
        "thread_ts": root["ts"],
    }
    [action] = payload["actions"]
    assert (action["action_id"], action["block_id"], action["value"], action["type"]) == (
        "generate",
        "draft-1",
        "d1",
        "button",
    )
    assert payload["message"]["ts"] == card["ts"] and payload["message"]["blocks"] == BUTTONS
    assert payload["channel"] == {"id": GENERAL, "name": "general"} and payload["trigger_id"]


def test_clicking_an_action_the_message_lacks_fails_the_test_without_a_request(slack, app_endpoint):
    card = slack.client().chat_postMessage(channel=GENERAL, text="draft", blocks=BUTTONS)
    with pytest.raises(AssertionError, match=r"'settings'.*\['cancel', 'generate'\]"):
        slack.click(slack.message(GENERAL, card["ts"]), "settings", user=ALICE)
    assert app_endpoint.requests == []


def test_a_view_opened_with_the_clicks_trigger_records_a_submission_and_its_errors(slack, app_endpoint):
    card = slack.client().chat_postMessage(channel=GENERAL, text="draft", blocks=BUTTONS)
    slack.click(slack.message(GENERAL, card["ts"]), "generate", user=ALICE)
    trigger = form_payload(app_endpoint.requests[-1][1])["trigger_id"]
    view_id = slack.client().views_open(trigger_id=trigger, view=MODAL)["view"]["id"]

    app_endpoint.answer = answer_json({"response_action": "errors", "errors": {"seed": "Not a number"}})
    slack.submit_view(view_id, {"seed": {"value": "abc"}, "model": {"pick": "5b"}}, user=ALICE)

    view = form_payload(app_endpoint.requests[-1][1])["view"]
    assert (view["callback_id"], view["private_metadata"]) == ("settings", "session-1")
    assert view["state"]["values"] == {
        "seed": {"value": {"type": "plain_text_input", "value": "abc"}},
        "model": {
            "pick": {"type": "static_select", "selected_option": MODAL["blocks"][1]["element"]["options"][1]}
        },
    }
    assert slack.view(view_id).errors == {"seed": "Not a number"} and slack.view(view_id).open

    app_endpoint.answer = lambda headers, body: (200, {}, b"")
    slack.submit_view(view_id, {"seed": {"value": "7"}}, user=ALICE)
    assert not slack.view(view_id).open


def test_a_trigger_older_than_three_seconds_is_expired(slack, app_endpoint):
    slack.api.trigger_ttl = 0.05
    slack.slash_command("/video", "settings", user=ALICE, channel=GENERAL)
    trigger = parse_qs(app_endpoint.requests[-1][1].decode())["trigger_id"][0]
    time.sleep(0.1)
    from slack_sdk.errors import SlackApiError

    with pytest.raises(SlackApiError, match="expired_trigger_id"):
        slack.client().views_open(trigger_id=trigger, view=MODAL)


def test_say_records_the_message_and_delivers_a_message_event(slack, app_endpoint):
    root = slack.client().chat_postMessage(channel=GENERAL, text="root")
    said = slack.say(GENERAL, "make it night <@UVIDEOBOT>", user=ALICE, thread_ts=root["ts"])

    envelope = json.loads(app_endpoint.requests[-1][1])
    assert app_endpoint.requests[-1][0]["Content-Type"] == "application/json"
    assert envelope["type"] == "event_callback" and envelope["event_id"].startswith("Ev")
    assert envelope["authorizations"][0]["user_id"] == "UVIDEOBOT"
    event = envelope["event"]
    assert (event["type"], event["user"], event["ts"], event["thread_ts"], event["channel_type"]) == (
        "message",
        ALICE,
        said.ts,
        root["ts"],
        "channel",
    )
    assert event["parent_user_id"] == "UVIDEOBOT" and "bot_id" not in event
    assert [m.text for m in slack.thread(GENERAL, root["ts"])] == ["root", "make it night <@UVIDEOBOT>"]


def test_a_retry_resends_the_same_event_with_slacks_retry_headers(slack, app_endpoint):
    slack.say(GENERAL, "hi", user=ALICE)
    slack.retry(slack.last_response, retry_num=1, retry_reason="http_timeout")
    (_, first), (headers, again) = app_endpoint.requests
    assert first == again
    assert (headers["X-Slack-Retry-Num"], headers["X-Slack-Retry-Reason"]) == ("1", "http_timeout")


def test_echo_delivers_the_bots_own_posts_back_as_events_with_bot_id(slack, app_endpoint):
    slack.echo_bot_messages = True
    posted = slack.client().chat_postMessage(channel=GENERAL, text="mine")
    slack.wait_until(lambda: app_endpoint.requests, timeout=5, what="the echo")
    event = json.loads(app_endpoint.requests[0][1])["event"]
    assert (event["bot_id"], event["user"], event["ts"]) == ("BVIDEOBOT", "UVIDEOBOT", posted["ts"])


def test_wait_until_times_out_with_what_and_the_transcript(slack):
    slack.client().chat_postMessage(channel=GENERAL, text="still rendering")
    with pytest.raises(TimeoutError) as caught:
        slack.wait_until(lambda: slack.messages(GENERAL)[5], timeout=0.1, what="the video")
    assert "the video" in str(caught.value) and "videobot: still rendering" in str(caught.value)


def test_a_response_url_answers_used_url_after_five_uses(slack, app_endpoint):
    slack.slash_command("/video", "status", user=ALICE, channel=GENERAL)
    from slack_sdk.webhook import WebhookClient

    hook = WebhookClient(parse_qs(app_endpoint.requests[-1][1].decode())["response_url"][0])
    codes = [hook.send(text=f"update {i}").status_code for i in range(6)]
    assert codes == [200] * 5 + [404]
    assert len(slack.ephemerals(ALICE)) == 5


def test_a_persons_edit_and_delete_arrive_as_message_changed_and_message_deleted(slack, app_endpoint):
    said = slack.say(GENERAL, "make it nite", user=ALICE)
    slack.edit(said, "make it night")
    slack.delete(said)
    events = [json.loads(body)["event"] for _, body in app_endpoint.requests]
    assert [e.get("subtype") for e in events] == [None, "message_changed", "message_deleted"]
    assert (
        events[1]["message"]["text"] == "make it night"
        and events[1]["previous_message"]["text"] == "make it nite"
    )
    assert events[2]["deleted_ts"] == said.ts and slack.messages(GENERAL) == []


def test_a_slash_command_leaves_the_channels_messages_to_what_everyone_sees(slack, app_endpoint):
    app_endpoint.answer = answer_json({"text": "On it!"})
    slack.slash_command("/video", "a corgi", user=ALICE, channel=GENERAL)
    assert slack.messages(GENERAL) == []  # the typed command and the ack are only visible to alice
    assert [m.text for m in slack.messages(GENERAL, include_ephemeral=True)] == ["/video a corgi", "On it!"]
    assert slack.users[ALICE] == "alice" and slack.users["UVIDEOBOT"] == "videobot"
