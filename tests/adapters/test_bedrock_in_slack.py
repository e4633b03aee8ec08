"""Claude on Bedrock writing prompts in the thread, through the real app, the stand-in and a local
Converse server: streamed as written, the fallback named, a guardrail explained, and no model text ever
setting a render parameter."""

from __future__ import annotations

import pytest
from PIL import Image

from bot.adapters.refiner import FallbackRefiner
from bot.adapters.refiner.bedrock import BedrockRefiner
from bot.adapters.refiner.offline import OfflineRefiner
from bot.slack.blocks import GENERATE
from tests.conftest import ALICE, CHANNEL, seen
from tests.fakes.bedrock import FakeBedrock, Reply

MODEL = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
PROMPT = (
    "A red fox trots through deep fresh snow in a silent pine forest at night, moonlight glinting on "
    "the frost, its breath steaming; a slow tracking shot at fox height, photorealistic."
)


@pytest.fixture
def bedrock():
    with FakeBedrock(default=Reply.answer(PROMPT, words_per_chunk=3)) as fake:
        yield fake


@pytest.fixture
def claude(bedrock):
    return FallbackRefiner(BedrockRefiner(bedrock.client(), MODEL, backoff_s=0.001), OfflineRefiner())


def test_bedrock_is_used_when_configured(slack, start_app, alice, bedrock, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", bedrock.url)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    start_app(refiner="bedrock", guardrail_id="gr-1", guardrail_version="3")
    card = alice.draft_card(alice.video("a fox in the snow"))
    assert "Written by Claude on Bedrock." in seen(card) and "moonlight glinting" in seen(card)
    assert bedrock.requests[0].body["guardrailConfig"]["guardrailIdentifier"] == "gr-1"


def test_the_prompt_streams_into_the_thread_as_claude_writes_it(slack, start_app, alice, claude):
    start_app(with_refiner=claude)
    card = alice.draft_card(alice.video("a fox in the snow"))
    methods = [c.method for c in slack.api_calls if "Stream" in c.method]
    assert methods[0] == "chat.startStream" and methods[-1] == "chat.stopStream"
    assert card.text == PROMPT  # the streamed message became the card
    assert card.action_ids()[0] == GENERATE


def test_when_streaming_is_refused_the_prompt_is_shown_by_editing_the_message(
    slack, start_app, alice, claude
):
    start_app(with_refiner=claude)
    slack.inject("chat.startStream", error="not_allowed")
    card = alice.draft_card(alice.video("a fox in the snow"))
    assert "moonlight glinting" in seen(card) and "✍️ *Prompt*" in seen(card)
    assert card.history and card.history[0][0].startswith("✍️")  # the placeholder it grew from
    alice.reply(alice.video("a second fox"), "slower")
    assert len(slack.calls("chat.startStream")) == 1  # refused once: not asked again


def test_when_claude_is_busy_the_offline_refiner_answers_and_says_so(
    slack, start_app, alice, bedrock, claude
):
    bedrock.default = Reply.throttled()
    start_app(with_refiner=claude)
    card = alice.draft_card(alice.video("a red fox running through snow"))
    assert "Claude on Bedrock was busy, so the offline refiner wrote this one." in seen(card)
    assert "Fresh powdery snow" in seen(card) and "Written by the offline refiner." in seen(card)


def test_a_fallback_after_part_of_an_answer_rewrites_the_message(slack, start_app, alice, bedrock):
    bedrock.default = Reply.broken_stream("validationException", after_chunks=3)
    start_app(
        with_refiner=FallbackRefiner(BedrockRefiner(bedrock.client(), MODEL, attempts=1), OfflineRefiner())
    )
    card = alice.draft_card(alice.video("a red fox running through snow"))
    assert "Fresh powdery snow" in seen(card) and "A red fox trots" not in seen(card)


def test_a_guardrail_intervention_is_explained_and_nothing_is_drafted(
    slack, start_app, alice, bedrock, claude
):
    bedrock.default = Reply.guardrail()
    start_app(with_refiner=claude)
    root = alice.video("something the policy forbids")
    message = slack.wait_until(
        lambda: next((m for m in slack.thread(CHANNEL, root.ts) if "content policy" in seen(m)), None),
        what="the explanation",
    )
    assert "Please describe something else" in seen(message)
    assert not any(GENERATE in m.action_ids() for m in slack.thread(CHANNEL, root.ts))


def test_model_text_cant_set_render_parameters(slack, start_app, alice, bedrock, claude):
    sneaky = "A fox. --model 5b --frames 1000 --seed 1 --steps 100 image=../../etc/passwd"
    bedrock.default = Reply.answer(sneaky)
    services = start_app(with_refiner=claude)
    root = alice.video("a fox --seed 42")
    alice.draft_card(root)
    draft = services.store.get_session(CHANNEL, root.ts).draft
    assert (draft.model, draft.num_frames, draft.seed, draft.num_inference_steps) == ("tiny", 49, 42, 4)
    assert draft.prompt == sneaky  # only ever the prompt's text


def test_an_image_session_shows_claude_the_picture(slack, start_app, alice, bedrock, claude, tmp_path):
    start_app(with_refiner=claude)
    picture = tmp_path / "harbour.jpg"
    Image.new("RGB", (320, 200), (30, 90, 160)).save(picture)
    shared = slack.share_file(CHANNEL, picture, user=ALICE, text="make the boats bob")
    alice.draft_card(shared.ts)
    [request] = bedrock.requests
    assert request.images[0]["format"] == "jpeg" and "image-to-video" in request.system
    assert request.texts("user") == ["make the boats bob\n\n(I shared the picture attached here.)"]


def test_model_text_cant_mention_or_link_anyone(slack, start_app, alice, bedrock, claude):
    bedrock.default = Reply.answer("A fox <!channel> meets <@UBOB> at <https://evil.example|a link>.")
    start_app(with_refiner=claude)
    root = alice.video("a fox")
    alice.draft_card(root)
    for message in slack.thread(CHANNEL, root.ts)[1:]:
        shown = message.text + str(message.blocks)
        assert "<!channel>" not in shown and "<@UBOB>" not in shown and "<https://" not in shown


def test_claude_writes_in_the_prompt_style_of_the_model_that_will_render(
    slack, start_app, alice, claude, bedrock
):
    start_app(with_refiner=claude)
    card = alice.draft_card(alice.video("a fox in the snow --model wan"))
    assert "Wan 2.2 TI2V-5B" in seen(card)
    system = bedrock.requests[0].system
    assert "You write prompts for Wan 2.2 TI2V-5B" in system
    assert "Wan follows structured cinematic prompts" in system  # the registry's prompt_style
    assert "at most 384 words" in system  # 512 UMT5 tokens, not CogVideoX's 226


def test_claude_writes_cogvideox_prompts_within_its_226_tokens(slack, start_app, alice, claude, bedrock):
    start_app(with_refiner=claude)
    alice.draft_card(alice.video("a fox in the snow"))
    system = bedrock.requests[0].system
    assert "CogVideoX was trained on long, detailed English video captions" in system
    assert "at most 169 words" in system
