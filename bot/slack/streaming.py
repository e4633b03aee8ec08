"""Show the prompt in the thread as it is written, then turn that message into the draft card.

Slack's streaming API (`chat.startStream` / `appendStream` / `stopStream`, through slack_sdk's
`chat_stream` helper, which buffers to spare the rate limits) grows one message as the text arrives,
and `stopStream` hangs the card's blocks under the finished text. Where streaming isn't available
(the call is refused, or the workspace doesn't offer it) the same message is posted as a placeholder
and edited with `chat.update` at most once a second instead. Either way one message ends up as the
card, and its ts is what the session remembers.

Streamed text is Markdown to Slack, so the prompt goes out with every formatting character escaped
(`blocks.markdown_shown`): a link, image, heading or @here in the idea, a reply or the model's answer
shows as the characters it is. Escaping goes word by word, so whole words are streamed and the last
(maybe unfinished) one waits for the next piece or for the end.

A stream can only grow. If the text starts over (a retry, or the fallback refiner taking over after
part of an answer was shown), the stream is closed and the message is rewritten with `chat.update`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError

from bot.slack.blocks import Blocks, Message, markdown_shown, prompt_so_far
from bot.slack.chat import ChatError, SlackChat

log = logging.getLogger(__name__)

WRITING_STATUS = "is writing the prompt…"  # shown under the thread while the prompt is written
UPDATE_INTERVAL_S = 1.0  # chat.update is rate limited (about one a second per message)
STREAM_BUFFER_CHARS = 200


class PromptStreams:
    """Makes a `PromptStream` per refinement; remembers when the workspace refused streaming, so the
    next refinement doesn't ask again."""

    def __init__(self, chat: SlackChat, *, streaming: bool = True, statuses: bool = True) -> None:
        self.chat = chat
        self.streaming = streaming
        self.statuses = statuses  # False once Slack refused `assistant.threads.setStatus` for good

    def open(
        self, *, channel: str, thread_ts: str, recipient: str, team: str, placeholder: str
    ) -> PromptStream:
        # Outside a DM Slack needs to know whom the stream is for.
        can_stream = self.streaming and (channel.startswith("D") or bool(recipient and team))
        return PromptStream(
            self,
            channel=channel,
            thread_ts=thread_ts,
            recipient=recipient,
            team=team,
            placeholder=placeholder,
            stream=can_stream,
        )

    def refused(self, error: str) -> None:
        if error in (
            "not_allowed",
            "feature_not_enabled",
            "missing_scope",
            "unknown_method",
            "not_allowed_token_type",
        ):
            log.info("Slack refused streaming (%s); using chat.update from now on", error)
            self.streaming = False

    def set_status(self, channel: str, thread_ts: str, status: str) -> None:
        """The thread's status line ("videobot is writing the prompt…"; "" clears it). Cosmetic: a
        refusal or an error is logged and never reaches the draft."""
        if not self.statuses:
            return
        try:
            self.chat.client.assistant_threads_setStatus(
                channel_id=channel, thread_ts=thread_ts, status=status
            )
        except SlackApiError as error:
            code = str(error.response.get("error", ""))
            log.info("Slack refused the thread status (%s)", code)
            if code in ("missing_scope", "unknown_method", "not_allowed_token_type", "feature_not_enabled"):
                self.statuses = False
        except Exception:  # (a timeout, a refused connection): the draft goes on without a status
            log.warning("could not set the thread status in %s", thread_ts, exc_info=True)


class PromptStream:
    def __init__(
        self,
        streams: PromptStreams,
        *,
        channel: str,
        thread_ts: str,
        recipient: str,
        team: str,
        placeholder: str,
        stream: bool,
    ) -> None:
        self._streams = streams
        self._chat = streams.chat
        self.channel, self.thread_ts = channel, thread_ts
        self._recipient, self._team = recipient, team
        self._placeholder = placeholder
        self._stream = None  # slack_sdk's ChatStream once text has arrived
        self._sent = ""  # text already appended to the stream (whole words), as written
        self._shown = ""  # the same, escaped as it was appended
        self._latest = ""  # all the text so far, the unfinished last word included
        self._diverged = False
        self._last_update = 0.0
        self.ts: str | None = None
        streams.set_status(channel, thread_ts, WRITING_STATUS)
        if not stream:
            self._post_placeholder()

    def _post_placeholder(self) -> None:
        try:
            self.ts = self._chat.post(self.channel, text=self._placeholder, thread_ts=self.thread_ts)
        except ChatError:
            log.warning("could not post the placeholder in %s", self.thread_ts)

    # while the text is written

    def show(self, text_so_far: str) -> None:
        if self.ts is not None and self._stream is None:
            self._update_throttled(text_so_far)
            return
        if self._diverged:
            return
        if not text_so_far.startswith(self._sent):
            self._diverged = True  # the answer started over; the final update rewrites the message
            return
        self._latest = text_so_far
        whole_words = text_so_far[: max(text_so_far.rfind(" "), text_so_far.rfind("\n")) + 1]
        if len(whole_words) <= len(self._sent):
            return
        try:
            if self._stream is None:
                self._stream = self._client.chat_stream(
                    channel=self.channel,
                    thread_ts=self.thread_ts,
                    recipient_user_id=self._recipient or None,
                    recipient_team_id=self._team or None,
                    buffer_size=STREAM_BUFFER_CHARS,
                )
            self._stream.append(markdown_text=self._escaped_delta(whole_words))
            self._sent = whole_words
            if self._stream.ts:
                self.ts = self._stream.ts
        except (SlackApiError, SlackRequestError) as error:
            self._give_up_streaming(error)
            self._update_throttled(text_so_far)

    def _escaped_delta(self, text: str) -> str:
        """What to append so the stream shows `text` escaped (it extends what was sent at a word break)."""
        escaped = markdown_shown(text)
        delta = (
            escaped[len(self._shown) :]
            if escaped.startswith(self._shown)
            else markdown_shown(text[len(self._sent) :])
        )
        self._shown = escaped
        return delta

    @property
    def _client(self) -> WebClient:
        return self._chat.client

    def _give_up_streaming(self, error: Exception) -> None:
        code = str(error.response.get("error", "")) if isinstance(error, SlackApiError) else "request_error"
        log.warning("streaming into %s failed (%s); editing the message instead", self.thread_ts, code)
        self._streams.refused(code)
        started = self._stream.ts if self._stream is not None else None
        self._stream = None
        self._diverged = True
        self.ts = started or self.ts
        if self.ts is None:
            self._post_placeholder()

    def _update_throttled(self, text_so_far: str) -> None:
        if self.ts is None:
            return
        now = time.monotonic()
        if now - self._last_update < UPDATE_INTERVAL_S:
            return
        self._last_update = now
        try:
            text, blocks = prompt_so_far(text_so_far)
            self._chat.update(self.channel, self.ts, text=text, blocks=blocks)
        except ChatError:
            log.warning("could not show the prompt so far in %s", self.ts)

    # when it is written

    def finish(self, card: Callable[[bool], Message]) -> str:
        """End the message as `card(with_prompt)`, and the thread's status line; returns its ts."""
        try:
            return self._finish(card)
        finally:
            self._clear_status()

    def finish_notice(self, text: str, blocks: Blocks) -> str:
        """End the message as a notice instead of a card (a refusal, a problem with the draft)."""
        try:
            return self._finish_notice(text, blocks)
        finally:
            self._clear_status()

    def _clear_status(self) -> None:
        self._streams.set_status(self.channel, self.thread_ts, "")

    def _finish(self, card: Callable[[bool], Message]) -> str:
        if self._stream is not None and not self._diverged:
            _, blocks = card(False)
            rest = self._escaped_delta(self._latest) if len(self._latest) > len(self._sent) else None
            try:
                self._stream.stop(markdown_text=rest, blocks=blocks)
                self.ts = self._stream.ts or self.ts
                if self.ts:
                    return self.ts
            except (SlackApiError, SlackRequestError) as error:
                self._give_up_streaming(error)
        elif self._stream is not None:
            self._stop_quietly()
        return self._replace(*card(True))

    def _finish_notice(self, text: str, blocks: Blocks) -> str:
        if self._stream is not None:
            self._stop_quietly()
        return self._replace(text, blocks)

    def _stop_quietly(self) -> None:
        try:
            assert self._stream is not None
            self._stream.stop()
            self.ts = self._stream.ts or self.ts
        except (SlackApiError, SlackRequestError):
            log.warning("could not close the stream in %s", self.thread_ts)
        self._stream = None

    def _replace(self, text: str, blocks: Blocks) -> str:
        if self.ts is not None:
            try:
                self._chat.update(self.channel, self.ts, text=text, blocks=blocks)
                return self.ts
            except ChatError:
                log.warning("could not finish %s in place; posting the card anew", self.ts)
        self.ts = self._chat.post(self.channel, text=text, blocks=blocks, thread_ts=self.thread_ts)
        return self.ts
