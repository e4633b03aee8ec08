"""The Slack adapter: the few Web API calls the conversation makes, over slack_sdk.

The conversation talks to `SlackChat`; only this module (and the Bolt listeners) know slack_sdk.
Rate limits (429 + Retry-After), 5xx answers and dropped connections are retried by slack_sdk's own
retry handlers, configured once in `make_slack_client`.
"""

from __future__ import annotations

import io
import logging
import shutil
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

log = logging.getLogger(__name__)

Blocks = list[dict[str, Any]]
UPLOAD_ATTEMPTS = 4
SPOOL_IN_MEMORY_BYTES = 4 << 20  # a non-seekable stream is copied aside: in memory up to this, then disk
MAX_RETRY_AFTER_S = 60.0


class ChatError(Exception):
    """Slack refused a call; `error` is Slack's error code (e.g. `not_in_channel`)."""

    def __init__(self, method: str, error: str) -> None:
        self.method, self.error = method, error
        super().__init__(f"{method} failed: {error}")


def make_slack_client(token: str, base_url: str | None = None) -> WebClient:
    client = WebClient(token=token, base_url=base_url or WebClient.BASE_URL, timeout=30)
    client.retry_handlers.extend(
        [
            RateLimitErrorRetryHandler(max_retry_count=3),
            ServerErrorRetryHandler(max_retry_count=2),
            ConnectionErrorRetryHandler(max_retry_count=2),
        ]
    )
    return client


def _call(method: str, fn: Any, **kwargs: Any) -> Any:
    try:
        return fn(**kwargs)
    except SlackApiError as error:
        raise ChatError(method, str(error.response.get("error", "unknown_error"))) from None


class SlackChat:
    def __init__(self, client: WebClient) -> None:
        self.client = client

    def post(
        self, channel: str, *, text: str, blocks: Blocks | None = None, thread_ts: str | None = None
    ) -> str:
        """Post a message (in a thread when `thread_ts` is given); returns its ts."""
        response = _call(
            "chat.postMessage",
            self.client.chat_postMessage,
            channel=channel,
            text=text,
            blocks=blocks,
            thread_ts=thread_ts,
            unfurl_links=False,
            unfurl_media=False,
        )
        return str(response["ts"])

    def update(self, channel: str, ts: str, *, text: str, blocks: Blocks | None = None) -> None:
        _call("chat.update", self.client.chat_update, channel=channel, ts=ts, text=text, blocks=blocks or [])

    def delete(self, channel: str, ts: str) -> None:
        """Delete one of the bot's own messages."""
        _call("chat.delete", self.client.chat_delete, channel=channel, ts=ts)

    def ephemeral(self, channel: str, user: str, text: str, *, thread_ts: str | None = None) -> None:
        _call(
            "chat.postEphemeral",
            self.client.chat_postEphemeral,
            channel=channel,
            user=user,
            text=text,
            thread_ts=thread_ts,
        )

    def upload_video(
        self,
        channel: str,
        thread_ts: str,
        *,
        data: BinaryIO,
        filename: str,
        title: str,
        comment: str,
        alt_text: str,
        before_sharing: Callable[[str], None] | None = None,
    ) -> str:
        """Upload an mp4 into a thread (files.getUploadURLExternal → POST → completeUploadExternal).

        slack_sdk's `files_upload_v2` reads the whole file into memory; these are its three steps with
        the body streamed instead, from `data` if it can rewind (for retries) or from a spooled copy
        (in memory up to a few MB, then on disk). `before_sharing(file_id)` runs once the bytes are up
        and before the file is shared into the thread (so a caller can remember it first). Returns the
        file's id.
        """
        with _rewindable(data) as (body, length):
            ticket = _call(
                "files.getUploadURLExternal",
                self.client.files_getUploadURLExternal,
                filename=filename,
                length=length,
                alt_txt=alt_text,
            )
            file_id = str(ticket["file_id"])
            self._post_file(str(ticket["upload_url"]), body, length)
        if before_sharing is not None:
            before_sharing(file_id)
        _call(
            "files.completeUploadExternal",
            self.client.files_completeUploadExternal,
            files=[{"id": file_id, "title": title}],
            channel_id=channel,
            thread_ts=thread_ts,
            initial_comment=comment,
        )
        return file_id

    def file_shared_in(self, file_id: str, channel: str) -> bool:
        """Whether the file is shared in `channel` (files.info's `shares`); False for a file Slack
        no longer knows."""
        try:
            info = self.client.files_info(file=file_id)
        except SlackApiError as error:
            if error.response.get("error") == "file_not_found":
                return False
            raise ChatError("files.info", str(error.response.get("error", "unknown_error"))) from None
        shares = (info.get("file") or {}).get("shares") or {}
        return any(channel in (where or {}) for where in shares.values())

    # the App Home tab (bot.conversation.home)

    def publish_home(self, user: str, view: dict[str, Any]) -> None:
        """Show `view` (type home) as `user`'s Home tab."""
        _call("views.publish", self.client.views_publish, user_id=user, view=view)

    def permalink(self, channel: str, ts: str) -> str:
        """A link to a message (a thread's root: the thread) that opens it in Slack."""
        answer = _call("chat.getPermalink", self.client.chat_getPermalink, channel=channel, message_ts=ts)
        return str(answer["permalink"])

    def upload_image(self, data: bytes, *, filename: str, title: str, alt_text: str) -> str:
        """Upload a picture shared nowhere (the bot's own file, which Block Kit image blocks can show
        by id: `slack_file`); returns its id."""
        ticket = _call(
            "files.getUploadURLExternal",
            self.client.files_getUploadURLExternal,
            filename=filename,
            length=len(data),
            alt_txt=alt_text,
        )
        file_id = str(ticket["file_id"])
        self._post_file(str(ticket["upload_url"]), io.BytesIO(data), len(data))
        _call(
            "files.completeUploadExternal",
            self.client.files_completeUploadExternal,
            files=[{"id": file_id, "title": title}],
        )
        return file_id

    def delete_file(self, file_id: str) -> None:
        """Delete a file the bot uploaded; one Slack no longer has is already gone."""
        try:
            self.client.files_delete(file=file_id)
        except SlackApiError as error:
            if error.response.get("error") != "file_not_found":
                raise ChatError("files.delete", str(error.response.get("error", "unknown_error"))) from None

    def _post_file(self, url: str, body: BinaryIO, length: int) -> None:
        """POST the bytes to the upload URL Slack issued, waiting out 429s and retrying 5xx answers."""
        if not _trusted_upload_url(url, self.client.base_url):
            raise ChatError("upload_url", "untrusted_upload_url")
        start = body.tell()
        for attempt in range(1, UPLOAD_ATTEMPTS + 1):
            body.seek(start)
            request = urllib.request.Request(  # noqa: S310 - the URL was checked above
                url,
                data=body,
                method="POST",
                headers={"Content-Type": "application/octet-stream", "Content-Length": str(length)},
            )
            try:
                timeout, ssl = self.client.timeout, self.client.ssl
                with urllib.request.urlopen(request, timeout=timeout, context=ssl) as answer:  # noqa: S310
                    answer.read()
                return
            except urllib.error.HTTPError as error:
                retryable = error.code == 429 or error.code >= 500
                if not retryable or attempt == UPLOAD_ATTEMPTS:
                    raise ChatError("upload_url", f"http_{error.code}") from None
                wait = _retry_after(error.headers.get("Retry-After"), default=2.0 ** (attempt - 1))
                log.warning("upload answered %s; trying again in %.0f s", error.code, wait)
            except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
                if attempt == UPLOAD_ATTEMPTS:
                    raise ChatError("upload_url", "connection_failed") from error
                wait = 2.0 ** (attempt - 1)
                log.warning("upload failed (%s); trying again in %.0f s", type(error).__name__, wait)
            time.sleep(wait)


@contextmanager
def _rewindable(data: BinaryIO) -> Iterator[tuple[BinaryIO, int]]:
    """`data` and its length, where a retry can seek back to the start."""
    if data.seekable():
        start = data.tell()
        length = data.seek(0, io.SEEK_END) - start
        data.seek(start)
        yield data, length
        return
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY_BYTES) as spool:
        shutil.copyfileobj(data, spool, 1 << 20)
        length = spool.tell()
        spool.seek(0)
        yield spool, length  # type: ignore[misc]


def _trusted_upload_url(url: str, api_base: str) -> bool:
    """Slack's file host, or the host of the Web API we were configured with (a local stand-in)."""
    parts, base = urlsplit(url), urlsplit(api_base)
    if parts.scheme == "https" and (parts.hostname or "").endswith(".slack.com"):
        return True
    return (parts.scheme, parts.netloc) == (base.scheme, base.netloc)


def _retry_after(value: str | None, *, default: float) -> float:
    try:
        seconds = float(value) if value is not None else default
    except ValueError:
        seconds = default
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)
