"""The blob store's two adapters behave alike: S3 (on moto's server) and its local twin, a folder."""

from __future__ import annotations

import io

import boto3
import pytest

from bot.adapters.blobs.filesystem import FilesystemBlobStore
from bot.adapters.blobs.s3 import S3BlobStore
from bot.conversation.ports import BlobNotFound
from tests.fakes.aws_lambda import BUCKET

BIG = bytes(range(256)) * (9 * 4096 + 7)  # a little over 9 MB: more than one multipart part


@pytest.fixture(params=["s3", "filesystem"])
def blobs(request, tmp_path):
    if request.param == "filesystem":
        return FilesystemBlobStore(tmp_path / "blobs")
    request.getfixturevalue("resources")
    return S3BlobStore(BUCKET, boto3.client("s3"))


def test_bytes_read_back_as_written(blobs):
    blobs.put("specs/j1/spec.json", b'{"a": 1}', content_type="application/json")
    with blobs.open("specs/j1/spec.json") as stream:
        assert stream.read() == b'{"a": 1}'
    assert blobs.size("specs/j1/spec.json") == 8
    assert blobs.exists("specs/j1/spec.json")


def test_a_stream_is_stored_and_read_back_in_pieces(blobs):
    blobs.put("renders/j1/video.mp4", io.BytesIO(BIG), content_type="video/mp4")
    pieces = []
    with blobs.open("renders/j1/video.mp4") as stream:
        while piece := stream.read(1 << 20):
            pieces.append(piece)
    assert b"".join(pieces) == BIG
    assert max(len(p) for p in pieces) <= 1 << 20
    assert blobs.size("renders/j1/video.mp4") == len(BIG)


def test_a_missing_blob_is_reported_as_missing(blobs):
    assert not blobs.exists("renders/nope/video.mp4")
    with pytest.raises(BlobNotFound):
        blobs.open("renders/nope/video.mp4")
    with pytest.raises(BlobNotFound):
        blobs.size("renders/nope/video.mp4")


@pytest.mark.parametrize("key", ["../etc/passwd", "renders/../../x", "/abs", "renders//x", ""])
def test_keys_that_climb_out_are_refused(blobs, key):
    with pytest.raises(ValueError):
        blobs.put(key, b"x")


def test_s3_copies_inside_the_bucket_and_names_prefixes(resources):
    s3 = S3BlobStore(BUCKET, resources.s3)
    s3.put("images/C1/a.png", b"\x89PNG")
    s3.copy("images/C1/a.png", "specs/j1/a.png")
    assert s3.open("specs/j1/a.png").read() == b"\x89PNG"
    with pytest.raises(BlobNotFound):
        s3.copy("images/C1/missing.png", "specs/j1/b.png")
    assert s3.uri("renders/j1/") == f"s3://{BUCKET}/renders/j1/"
