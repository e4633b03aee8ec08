"""The Web API as the real slack_sdk WebClient sees it."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from tests.localslack.constants import ALICE, GENERAL

SECTION = {"type": "section", "text": {"type": "mrkdwn", "text": "hello"}}


def error_of(call) -> str:
    with pytest.raises(SlackApiError) as caught:
        call()
    return caught.value.response["error"]


def test_post_and_update_appear_in_the_thread(slack):
    client = slack.client()
    root = client.chat_postMessage(channel=GENERAL, text="root")
    reply = client.chat_postMessage(channel=GENERAL, thread_ts=root["ts"], text="working…")
    client.chat_update(channel=GENERAL, ts=reply["ts"], text="done", blocks=[SECTION])

    thread = slack.thread(GENERAL, root["ts"])
    assert [m.text for m in thread] == ["root", "done"]
    assert thread[1].thread_ts == root["ts"] and thread[1].edited == 1
    assert thread[1].blocks == [SECTION] and thread[1].history == [("working…", [])]
    assert reply["message"]["bot_id"] == "BVIDEOBOT" and reply["channel"] == GENERAL


def test_update_without_blocks_keeps_the_blocks_as_slack_does(slack):
    client = slack.client()
    posted = client.chat_postMessage(channel=GENERAL, text="a", blocks=[SECTION])
    client.chat_update(channel=GENERAL, ts=posted["ts"], text="b")
    assert slack.message(GENERAL, posted["ts"]).blocks == [SECTION]


def test_timestamps_are_unique_and_increasing(slack):
    client = slack.client()
    stamps = [client.chat_postMessage(channel=GENERAL, text=str(i))["ts"] for i in range(20)]
    assert stamps == sorted(stamps, key=float) and len(set(stamps)) == 20
    assert all(len(ts.split(".")[1]) == 6 for ts in stamps)


def test_missing_or_unknown_channel_is_channel_not_found(slack):
    client = slack.client()
    assert error_of(lambda: client.chat_postMessage(channel="", text="x")) == "channel_not_found"
    assert error_of(lambda: client.chat_postMessage(channel="CNOWHERE", text="x")) == "channel_not_found"


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
def test_empty_message_is_no_text(slack):
    assert error_of(lambda: slack.client().chat_postMessage(channel=GENERAL, text="")) == "no_text"


def test_more_than_50_blocks_is_invalid_blocks(slack):
    client = slack.client()
    assert (
        error_of(lambda: client.chat_postMessage(channel=GENERAL, text="t", blocks=[SECTION] * 51))
        == "invalid_blocks"
    )


def test_a_button_label_over_75_characters_is_invalid_blocks_with_a_pointer(slack):
    button = {"type": "button", "text": {"type": "plain_text", "text": "x" * 76}, "action_id": "a"}
    with pytest.raises(SlackApiError) as caught:
        slack.client().chat_postMessage(
            channel=GENERAL, text="t", blocks=[{"type": "actions", "elements": [button]}]
        )
    assert caught.value.response["response_metadata"]["messages"] == [
        "[ERROR] must be less than 76 characters [json-pointer:/blocks/0/elements/0/text/text]"
    ]


def test_update_of_an_unknown_ts_is_message_not_found(slack):
    client = slack.client()
    assert (
        error_of(lambda: client.chat_update(channel=GENERAL, ts="1.000001", text="x")) == "message_not_found"
    )


def test_reply_to_a_ts_that_is_no_message_still_posts(slack):
    slack.client().chat_postMessage(channel=GENERAL, thread_ts="1700000000.000001", text="orphan")
    assert [m.text for m in slack.thread(GENERAL, "1700000000.000001")] == ["orphan"]


def test_bad_token_is_invalid_auth(slack):
    client = WebClient(token="xoxb-wrong", base_url=slack.api_url)
    assert error_of(client.auth_test) == "invalid_auth"
    assert slack.api_calls[-1].error == "invalid_auth"


def test_unknown_method_answers_unknown_method_and_is_recorded(slack):
    assert error_of(lambda: slack.client().api_call("chat.frobnicate", json={"a": 1})) == "unknown_method"
    assert (slack.api_calls[-1].method, slack.api_calls[-1].params) == ("chat.frobnicate", {"a": 1})


def test_form_encoded_blocks_are_decoded_like_json(slack):
    client = slack.client()
    client.api_call("chat.postMessage", params={"channel": GENERAL, "blocks": '[{"type": "divider"}]'})
    assert slack.messages(GENERAL)[0].blocks == [{"type": "divider"}]
    assert slack.calls("chat.postMessage")[0].params["blocks"] == [{"type": "divider"}]


def test_ephemeral_is_recorded_for_its_person_only(slack):
    posted = slack.client().chat_postEphemeral(channel=GENERAL, user=ALICE, text="psst")
    assert [(m.text, m.ts) for m in slack.ephemerals(ALICE)] == [("psst", posted["message_ts"])]
    assert slack.ephemerals("UBOB") == []
    assert slack.messages(GENERAL) == [] and len(slack.messages(GENERAL, include_ephemeral=True)) == 1


def test_delete_removes_the_message_from_the_thread(slack):
    client = slack.client()
    root = client.chat_postMessage(channel=GENERAL, text="root")
    reply = client.chat_postMessage(channel=GENERAL, thread_ts=root["ts"], text="gone soon")
    client.chat_delete(channel=GENERAL, ts=reply["ts"])
    assert [m.text for m in slack.thread(GENERAL, root["ts"])] == ["root"]


def test_conversations_replies_returns_root_then_replies_in_slack_shape(slack):
    client = slack.client()
    root = client.chat_postMessage(channel=GENERAL, text="root")
    client.chat_postMessage(channel=GENERAL, thread_ts=root["ts"], text="one")
    messages = client.conversations_replies(channel=GENERAL, ts=root["ts"])["messages"]
    assert [m["text"] for m in messages] == ["root", "one"]
    assert messages[0]["reply_count"] == 1 and messages[1]["parent_user_id"] == "UVIDEOBOT"


def test_permalink_points_at_the_stand_in_and_shows_the_thread(slack):
    client = slack.client()
    root = client.chat_postMessage(channel=GENERAL, text="look here")
    link = client.chat_getPermalink(channel=GENERAL, message_ts=root["ts"])["permalink"]
    import urllib.request

    with urllib.request.urlopen(link) as page:
        assert "videobot: look here" in page.read().decode()


def test_users_and_conversations_info(slack):
    client = slack.client()
    assert client.users_info(user=ALICE)["user"]["profile"]["display_name"] == "alice"
    assert client.users_info(user="UVIDEOBOT")["user"]["is_bot"] is True
    assert error_of(lambda: client.users_info(user="UNOBODY")) == "user_not_found"
    assert client.conversations_info(channel=GENERAL)["channel"]["name"] == "general"


def test_posting_to_a_user_id_lands_in_their_dm(slack):
    posted = slack.client().chat_postMessage(channel=ALICE, text="hi")
    assert posted["channel"] == slack.dm_channel(ALICE) == "DALICE"


def test_reactions_and_assistant_status_are_recorded(slack):
    client = slack.client()
    root = client.chat_postMessage(channel=GENERAL, text="root")
    client.reactions_add(channel=GENERAL, timestamp=root["ts"], name="eyes")
    assert error_of(lambda: client.reactions_add(channel=GENERAL, timestamp=root["ts"], name="eyes")) == (
        "already_reacted"
    )
    client.assistant_threads_setStatus(channel_id=GENERAL, thread_ts=root["ts"], status="is rendering…")
    client.assistant_threads_setStatus(channel_id=GENERAL, thread_ts=root["ts"], status="")
    assert slack.message(GENERAL, root["ts"]).reactions == {"eyes": ["UVIDEOBOT"]}
    assert [s.status for s in slack.statuses] == ["is rendering…", ""]
