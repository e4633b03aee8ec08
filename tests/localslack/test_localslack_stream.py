"""chat_stream: startStream / appendStream / stopStream grow one message."""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError

from tests.localslack.constants import ALICE, GENERAL


def test_chat_stream_builds_one_message(slack):
    client = slack.client()
    root = client.chat_postMessage(channel=GENERAL, text="root")
    stream = client.chat_stream(
        channel=GENERAL,
        thread_ts=root["ts"],
        recipient_team_id="TLOCAL",
        recipient_user_id=ALICE,
        buffer_size=8,
    )
    stream.append(markdown_text="A corgi ")
    assert slack.message(GENERAL, stream.ts).streaming is True
    stream.append(markdown_text="rides a wave")
    stream.stop(markdown_text=" at sunset.")

    replies = slack.thread(GENERAL, root["ts"])[1:]
    assert [(m.text, m.streaming) for m in replies] == [("A corgi rides a wave at sunset.", False)]
    assert [c.method for c in slack.api_calls[1:]] == [
        "chat.startStream",
        "chat.appendStream",
        "chat.stopStream",
    ]


def test_a_stopped_stream_takes_no_more_text(slack):
    client = slack.client()
    root = client.chat_postMessage(channel=GENERAL, text="root")
    started = client.chat_startStream(
        channel=GENERAL,
        thread_ts=root["ts"],
        recipient_team_id="TLOCAL",
        recipient_user_id=ALICE,
        markdown_text="a",
    )
    client.chat_stopStream(channel=GENERAL, ts=started["ts"])
    with pytest.raises(SlackApiError) as caught:
        client.chat_appendStream(channel=GENERAL, ts=started["ts"], markdown_text="b")
    assert caught.value.response["error"] == "message_not_in_streaming_state"


def test_streaming_in_a_channel_needs_the_recipient(slack):
    client = slack.client()
    root = client.chat_postMessage(channel=GENERAL, text="root")
    with pytest.raises(SlackApiError) as caught:
        client.chat_startStream(channel=GENERAL, thread_ts=root["ts"], markdown_text="a")
    assert caught.value.response["error"] == "missing_recipient_user_id"
