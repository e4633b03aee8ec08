"""Delivering a video without holding it in memory: the upload reads its source in bounded pieces,
retries from a rewindable copy, and only ever sends the bytes to Slack's own upload host."""

from __future__ import annotations

import io

import pytest

from bot.slack.chat import ChatError, SlackChat, _trusted_upload_url, make_slack_client
from localslack import UPLOAD_URL, SlackStandIn
from tests.aws.conftest import BOT_TOKEN

CHANNEL = "CVIDEOS"
VIDEO = bytes(range(256)) * (12 * 4096)  # 12 MB


class OneWayStream(io.RawIOBase):
    """A source that can only be read forward (like an S3 body), recording each read's size."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)
        self.reads: list[int] = []

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        self.reads.append(len(buffer))
        chunk = self._data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


@pytest.fixture
def slack(tmp_path):
    with SlackStandIn(signing_secret="s" * 16, bot_token=BOT_TOKEN, files_dir=tmp_path / "f") as stand_in:
        stand_in.add_channel(CHANNEL, "videos")
        yield stand_in


@pytest.fixture
def chat(slack):
    return SlackChat(make_slack_client(slack.bot_token, slack.api_url))


def upload(chat, source):
    return chat.upload_video(
        CHANNEL,
        "1.000001",
        data=source,
        filename="video.mp4",
        title="A fox",
        comment="here",
        alt_text="a fox",
    )


def test_a_forward_only_stream_is_uploaded_whole_in_bounded_reads(chat, slack):
    source = OneWayStream(VIDEO)
    file_id = upload(chat, source)
    [uploaded] = slack.files
    assert uploaded.id == file_id and uploaded.path.read_bytes() == VIDEO
    assert max(source.reads) <= 1 << 20  # never the whole video at once


def test_a_failed_upload_is_sent_again_from_the_start(chat, slack):
    slack.inject(UPLOAD_URL, status=503)
    upload(chat, OneWayStream(VIDEO))
    assert slack.files[0].path.read_bytes() == VIDEO


def test_an_upload_slack_refuses_for_good_is_an_error(chat, slack):
    slack.inject(UPLOAD_URL, status=413)
    with pytest.raises(ChatError) as refused:
        upload(chat, io.BytesIO(b"video"))
    assert refused.value.error == "http_413"


@pytest.mark.parametrize(
    ("url", "trusted"),
    [
        ("https://files.slack.com/upload/v1/CwABAAAA", True),
        ("http://files.slack.com/upload/v1/CwABAAAA", False),
        ("https://files.slack.com.evil.example/upload", False),
        ("https://evil.example/upload/v1/x", False),
        ("http://127.0.0.1:9999/upload/v1/x", False),
        ("http://127.0.0.1:8765/upload/v1/x", True),  # the configured API's own host (a stand-in)
    ],
)
def test_bytes_only_go_to_slacks_upload_host(url, trusted):
    assert _trusted_upload_url(url, "http://127.0.0.1:8765/api/") is trusted
