"""The Bedrock refiner against a local Converse / ConverseStream server (real boto3, real HTTP,
AWS event-stream framing): what it asks, how it streams, retries, falls back and stops."""

from __future__ import annotations

import pytest

from bot.ports import RefineRequest
from bot.refiner import FallbackRefiner, RefinementBlocked, RefinerUnavailable
from bot.refiner.bedrock import BedrockRefiner
from bot.refiner.offline import OfflineRefiner
from bot.refiner.prompting import clean_prompt
from bot.sessions import Turn
from tests.fakes.bedrock import FakeBedrock, Reply

MODEL = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"


@pytest.fixture
def bedrock():
    with FakeBedrock() as fake:
        yield fake


def refiner(bedrock, **options):
    options.setdefault("backoff_s", 0.001)
    return BedrockRefiner(bedrock.client(), MODEL, **options)


def thread(*texts):
    """Alternating turns: the person, the prompt written, the person, ..."""
    return tuple(
        Turn("user" if i % 2 == 0 else "assistant", t, "UALICE" if i % 2 == 0 else None)
        for i, t in enumerate(texts)
    )


def test_the_model_is_asked_for_a_cogvideox_prompt_with_the_thread_as_the_conversation(bedrock):
    refiner(bedrock).refine(RefineRequest(turns=thread("a fox", "A fox in snow.", "make it night")))
    [request] = bedrock.requests
    assert request.model_id == MODEL and request.operation == "converse"
    assert "CogVideoX" in request.system and "ONE paragraph" in request.system
    assert [m["role"] for m in request.messages] == ["user", "assistant", "user"]
    assert request.texts("user") == ["a fox", "make it night"]


def test_replies_from_several_people_in_a_row_are_one_turn_naming_them(bedrock):
    turns = (Turn("user", "a fox", "UALICE"), Turn("assistant", "A fox."), Turn("user", "at night", "UALICE"))
    turns += (Turn("user", "and snowing", "UBOB"),)
    refiner(bedrock).refine(RefineRequest(turns=turns))
    assert bedrock.requests[0].texts("user")[-1] == "<@UALICE>: at night\n\n<@UBOB>: and snowing"


def test_the_answer_streams_as_it_is_written(bedrock):
    bedrock.script(
        Reply.answer("A fox trots through deep snow under a pale moon, slow dolly shot.", words_per_chunk=2)
    )
    seen = []
    result = refiner(bedrock).refine(RefineRequest(turns=thread("a fox")), on_text=seen.append)
    assert bedrock.requests[0].operation == "converse-stream"
    assert seen[0] == "A fox" and seen[-1] == result.prompt and len(seen) == 7
    assert result.refiner == "Claude on Bedrock"


def test_an_image_session_sends_the_picture_with_the_newest_request(bedrock):
    request = RefineRequest(
        turns=thread("the waves roll in"),
        mode="i2v",
        image=b"\x89PNG fake bytes",
        image_media_type="image/png",
    )
    refiner(bedrock).refine(request)
    sent = bedrock.requests[0]
    assert sent.images[0]["format"] == "png" and "image-to-video" in sent.system
    assert sent.messages[-1]["content"][0] == {
        "image": {"format": "png", "source": {"bytes": "iVBORyBmYWtlIGJ5dGVz"}}
    }


def test_a_guardrail_is_applied_when_configured(bedrock):
    refiner(bedrock, guardrail_id="gr-123", guardrail_version="2").refine(
        RefineRequest(turns=thread("a fox")), on_text=lambda text: None
    )
    assert bedrock.requests[0].body["guardrailConfig"] == {
        "guardrailIdentifier": "gr-123",
        "guardrailVersion": "2",
        "streamProcessingMode": "sync",
    }


def test_a_guardrail_intervention_is_refused_politely(bedrock):
    bedrock.script(Reply.guardrail())
    with pytest.raises(RefinementBlocked, match="content policy stopped it"):
        refiner(bedrock, guardrail_id="gr-123").refine(RefineRequest(turns=thread("something awful")))


def test_throttling_is_retried_with_back_off(bedrock):
    bedrock.script(Reply.throttled(), Reply.throttled(), Reply.answer("A fox in the snow at night."))
    waits = []
    result = refiner(bedrock, sleep=waits.append, backoff_s=1.0).refine(RefineRequest(turns=thread("a fox")))
    assert result.prompt == "A fox in the snow at night." and len(bedrock.requests) == 3
    assert 0.5 <= waits[0] <= 1.0 and 1.0 <= waits[1] <= 2.0


def test_an_error_in_the_middle_of_a_stream_is_retried(bedrock):
    bedrock.script(Reply.broken_stream("throttlingException"), Reply.answer("A fox, retried."))
    result = refiner(bedrock).refine(RefineRequest(turns=thread("a fox")), on_text=lambda text: None)
    assert result.prompt == "A fox, retried."


def test_still_throttled_after_the_retries_means_unavailable(bedrock):
    bedrock.default = Reply.throttled()
    with pytest.raises(RefinerUnavailable) as raised:
        refiner(bedrock, attempts=3).refine(RefineRequest(turns=thread("a fox")))
    assert raised.value.why == "was busy" and len(bedrock.requests) == 3


def test_a_refusal_that_retrying_wont_fix_is_not_retried(bedrock):
    bedrock.default = Reply.failing("AccessDeniedException")
    with pytest.raises(RefinerUnavailable, match=r"couldn't be used \(ref [0-9a-f]{6}\)"):
        refiner(bedrock).refine(RefineRequest(turns=thread("a fox")))
    assert len(bedrock.requests) == 1


def test_the_fallback_answers_and_says_who_wrote_the_prompt(bedrock):
    bedrock.default = Reply.throttled()
    fallback = FallbackRefiner(refiner(bedrock, attempts=2), OfflineRefiner())
    result = fallback.refine(RefineRequest(turns=thread("a red fox running through snow")))
    assert result.refiner == "the offline refiner"
    assert result.note.startswith("Claude on Bedrock was busy, so the offline refiner wrote this one.")
    assert "Fresh powdery snow" in result.prompt


def test_an_unreachable_endpoint_falls_back_too():
    with FakeBedrock() as gone:
        client = gone.client()
    result = FallbackRefiner(
        BedrockRefiner(client, MODEL, attempts=2, backoff_s=0.001), OfflineRefiner()
    ).refine(RefineRequest(turns=thread("a fox")))
    assert result.note.startswith("Claude on Bedrock wasn't reachable")


def test_the_answer_is_one_plain_paragraph_within_the_reading_length():
    messy = "```\nPrompt: **A fox** runs.\n- through snow\n- at night\n```"
    assert clean_prompt(messy, 170) == "A fox runs. through snow at night"
    assert len(clean_prompt("word " * 400, 170).split()) == 170
