"""The Slack adapter: the few Web API calls the conversation makes, over slack_sdk.

The conversation talks to `SlackChat`; only this module (and the Bolt listeners) know slack_sdk.
Rate limits (429 + Retry-After), 5xx answers and dropped connections are retried by slack_sdk's own
retry handlers, configured once in `make_slack_client`.
"""

from __future__ import annotations

import logging
from typing import Any, BinaryIO

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

log = logging.getLogger(__name__)

Blocks = list[dict[str, Any]]


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
    ) -> str:
        """Upload an mp4 into a thread (files.getUploadURLExternal → POST → completeUploadExternal)."""
        response = _call(
            "files.upload_v2",
            self.client.files_upload_v2,
            channel=channel,
            thread_ts=thread_ts,
            file=data.read(),
            filename=filename,
            title=title,
            initial_comment=comment,
            alt_txt=alt_text,
        )
        files = response.get("files") or [response.get("file") or {}]
        return str(files[0].get("id", ""))
