"""BlobStore on S3: the cloud twin of the folder store. Keys are object keys in one bucket.

Reads are streams (the object's body, never the whole object in memory); writes of streams go
through boto3's managed transfer, which uploads in bounded parts.
"""

from __future__ import annotations

from typing import Any, BinaryIO

from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from bot.adapters.blobs.filesystem import KEY_PATTERN
from bot.conversation.ports import BlobNotFound

# 8 MB parts, two at a time: at most ~16 MB of a stream in memory while it uploads.
TRANSFER = TransferConfig(multipart_threshold=8 << 20, multipart_chunksize=8 << 20, max_concurrency=2)
MISSING = {"404", "NoSuchKey", "NotFound"}


def _check(key: str) -> str:
    if not KEY_PATTERN.match(key) or ".." in key.split("/"):
        raise ValueError(f"not a valid blob key: {key!r}")
    return key


def _missing(error: ClientError) -> bool:
    return str(error.response.get("Error", {}).get("Code")) in MISSING


class S3BlobStore:
    def __init__(self, bucket: str, client: Any) -> None:
        self.bucket = bucket
        self.client = client  # a boto3 S3 client

    def uri(self, key: str) -> str:
        """`s3://bucket/key`; a key ending in `/` names a prefix (a folder of objects)."""
        folder = "/" if key.endswith("/") else ""
        return f"s3://{self.bucket}/{_check(key.rstrip('/'))}{folder}"

    def put(
        self, key: str, data: bytes | BinaryIO, *, content_type: str = "application/octet-stream"
    ) -> None:
        if isinstance(data, bytes | bytearray):
            self.client.put_object(
                Bucket=self.bucket, Key=_check(key), Body=bytes(data), ContentType=content_type
            )
        else:
            self.client.upload_fileobj(
                data, self.bucket, _check(key), ExtraArgs={"ContentType": content_type}, Config=TRANSFER
            )

    def open(self, key: str) -> BinaryIO:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=_check(key))
        except ClientError as error:
            if _missing(error):
                raise BlobNotFound(key) from None
            raise
        return response["Body"]  # botocore's StreamingBody: a closeable, readable stream

    def size(self, key: str) -> int:
        try:
            return int(self.client.head_object(Bucket=self.bucket, Key=_check(key))["ContentLength"])
        except ClientError as error:
            if _missing(error):
                raise BlobNotFound(key) from None
            raise

    def exists(self, key: str) -> bool:
        try:
            self.size(key)
        except BlobNotFound:
            return False
        return True

    def delete_folder(self, prefix: str) -> None:
        """Every object under `prefix/`, listed and deleted a page (up to 1,000 keys) at a time."""
        folder = _check(prefix.rstrip("/")) + "/"
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=folder):
            keys = [{"Key": item["Key"]} for item in page.get("Contents", ())]
            if keys:
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": keys, "Quiet": True})

    def copy(self, source: str, target: str) -> None:
        """A server-side copy inside the bucket (nothing passes through this process)."""
        try:
            self.client.copy(
                {"Bucket": self.bucket, "Key": _check(source)}, self.bucket, _check(target), Config=TRANSFER
            )
        except ClientError as error:
            if _missing(error):
                raise BlobNotFound(source) from None
            raise
