"""Prompts show as the characters they are, wherever they appear (the stream, the card, the root
message, the caption, the settings modal): no words from a person or a model become a link, an
image, a heading, a mention or a broadcast."""

from __future__ import annotations

import json
import re

import pytest

from bot.adapters.refiner import FallbackRefiner
from bot.adapters.refiner.bedrock import BedrockRefiner
from bot.adapters.refiner.offline import OfflineRefiner
from bot.slack.blocks import GENERATE, OPEN_SETTINGS
from tests.conftest import CHANNEL, FAST, video_in_thread
from tests.fakes.bedrock import FakeBedrock, Reply

MODEL = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
SNEAKY = "[Sign in again](https://evil.example/login) ![logo](https://evil.example/x.png) @here"
MARKDOWN_LINK = re.compile(r"(?<!\\)\[[^\]]*(?<!\\)\]\(")  # [text]( or ![alt]( that isn't escaped
LIVE = ("https://", "@here", "<!here>")  # a bare URL Slack would link, a broadcast


def streamed_text(slack) -> str:
    """Everything the app streamed, as the Markdown Slack renders."""
    methods = ("chat.startStream", "chat.appendStream", "chat.stopStream")
    text = ""
    for call in (c for c in slack.api_calls if c.method in methods):
        chunks = call.params.get("chunks") or []
        chunks = json.loads(chunks) if isinstance(chunks, str) else chunks
        text += str(call.params.get("markdown_text") or "")
        text += "".join(str(c.get("text", "")) for c in chunks if c.get("type") == "markdown_text")
    return text


def shown_as_markup(message) -> list[tuple[str, str]]:
    """The texts of a message that Slack would format, and how: ("markdown", ...) for Markdown,
    ("mrkdwn", ...) for mrkdwn without verbatim and the notification text."""
    texts = [("mrkdwn", message.text)]
    for block in message.blocks or []:
        if block.get("type") == "markdown":
            texts.append(("markdown", block.get("text", "")))
        for obj in [block.get("text"), *block.get("elements", [])]:
            if isinstance(obj, dict) and obj.get("type") == "mrkdwn" and not obj.get("verbatim"):
                texts.append(("mrkdwn", obj.get("text", "")))
    return texts


def assert_inert(text: str, kind: str = "markdown") -> None:
    """No live link, image, heading or broadcast in `text` as Slack formats `kind`."""
    assert not any(live in text for live in LIVE), text
    if kind == "markdown":
        assert not MARKDOWN_LINK.search(text), text
        assert not re.search(r"(?m)^\s*#", text), text


@pytest.fixture
def bedrock():
    with FakeBedrock(
        default=Reply.answer(f"A fox in the snow. {SNEAKY}\n# Heading", words_per_chunk=2)
    ) as fake:
        yield fake


def test_a_link_in_the_models_answer_streams_as_plain_characters(slack, start_app, alice, bedrock):
    start_app(with_refiner=FallbackRefiner(BedrockRefiner(bedrock.client(), MODEL), OfflineRefiner()))
    alice.draft_card(alice.video("a fox"))
    streamed = streamed_text(slack)
    assert_inert(streamed)
    readable = streamed.replace("\\", "").replace("\u2060", "")
    assert SNEAKY in readable and "# Heading" in readable  # escaped, not rewritten


def test_a_link_in_the_idea_is_plain_text_in_the_thread(slack, videobot, alice):
    root = alice.video(f"a fox {SNEAKY}")
    alice.draft_card(root)
    for message in slack.thread(CHANNEL, root.ts):
        for kind, text in shown_as_markup(message):
            assert_inert(text, kind)


def test_the_draft_cards_prompt_is_plain_text_where_it_cant_be_streamed(slack, videobot, alice):
    slack.inject("chat.startStream", error="not_allowed")
    card = alice.draft_card(alice.video(f"a fox {SNEAKY}"))
    prompt_block = next(b for b in card.blocks if "Sign in again" in str(b.get("text", "")))
    assert prompt_block["text"]["type"] == "plain_text"
    for kind, text in shown_as_markup(card):
        assert_inert(text, kind)


def test_the_videos_caption_has_no_live_link_or_broadcast(slack, videobot, alice):
    root = alice.video(f"a fox {SNEAKY} {FAST}")
    alice.click(alice.draft_card(root), GENERATE)
    caption = video_in_thread(slack, root).initial_comment
    assert "Sign in again" in caption
    assert not any(live in caption for live in LIVE)


def test_the_settings_modal_shows_the_prompt_as_plain_text(slack, videobot, alice):
    card = alice.draft_card(alice.video(f"a fox {SNEAKY}"))
    alice.click(card, OPEN_SETTINGS)
    view = slack.wait_until(lambda: slack.views[-1], what="the settings modal")
    # The prompt is an input now (Settings edits it): an input's value is plain text, never formatting.
    prompt_block = next(b for b in view.view["blocks"] if "Sign in again" in str(b.get("element", "")))
    assert prompt_block["element"]["type"] == "plain_text_input"
