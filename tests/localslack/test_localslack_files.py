"""Files: files_upload_v2's three steps, and files people drop."""

from __future__ import annotations

import struct
import urllib.error
import urllib.request
import zlib

import pytest
from slack_sdk.errors import SlackRequestError

from localslack import UPLOAD_URL
from tests.localslack.constants import ALICE, GENERAL


def test_files_upload_v2_lands_in_the_thread_with_its_comment_and_bytes(slack, tmp_path):
    client = slack.client()
    root = client.chat_postMessage(channel=GENERAL, text="root")
    video = tmp_path / "video.mp4"
    video.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"x" * 1000)
    done = client.files_upload_v2(
        channel=GENERAL,
        thread_ts=root["ts"],
        file=str(video),
        filename="video.mp4",
        title="A corgi",
        alt_txt="a corgi surfing",
        initial_comment="here it is",
    )

    [shared] = slack.thread(GENERAL, root["ts"])[1:]
    [f] = shared.files
    assert shared.text == "here it is" and shared.subtype == "file_share"
    assert (f.id, f.name, f.title, f.alt_txt, f.size) == (
        done["file"]["id"],
        "video.mp4",
        "A corgi",
        "a corgi surfing",
        1012,
    )
    assert (f.channel, f.thread_ts, f.initial_comment, f.mimetype) == (
        GENERAL,
        root["ts"],
        "here it is",
        "video/mp4",
    )
    assert f.read_bytes() == video.read_bytes()
    assert [c.method for c in slack.api_calls[1:]] == [
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
    ]
    assert client.files_info(file=f.id)["file"]["shares"]["public"][GENERAL][0]["ts"] == shared.ts


def test_a_failing_upload_url_surfaces_as_a_request_error(slack, tmp_path):
    slack.inject(UPLOAD_URL, status=500)
    with pytest.raises((SlackRequestError, urllib.error.HTTPError)):
        slack.client().files_upload_v2(channel=GENERAL, content=b"abc", filename="a.txt")
    assert slack.messages(GENERAL) == []


def _png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\x00\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def test_a_dropped_image_is_announced_with_its_size_and_served_only_with_the_bot_token(
    slack, app_endpoint, tmp_path
):
    image = tmp_path / "cat.png"
    image.write_bytes(_png(64, 48))
    slack.share_file(GENERAL, image, user=ALICE, text="animate this")

    import json

    event = json.loads(app_endpoint.requests[-1][1])["event"]
    [f] = event["files"]
    assert (event["subtype"], event["user"], event["text"]) == ("file_share", ALICE, "animate this")
    assert (f["name"], f["mimetype"], f["filetype"], f["original_w"], f["original_h"]) == (
        "cat.png",
        "image/png",
        "png",
        64,
        48,
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f["url_private_download"])
    assert refused.value.code == 403
    authorized = urllib.request.Request(
        f["url_private_download"], headers={"Authorization": f"Bearer {slack.bot_token}"}
    )
    with urllib.request.urlopen(authorized) as download:
        assert download.read() == image.read_bytes()
