"""A storyboard's shot list: Bedrock writes it as structured output (Converse tool use, validated, a
misfit sent back once), the offline refiner writes a plausible one, and the fallback covers Bedrock."""

from __future__ import annotations

import pytest

from bot.adapters.refiner import FallbackRefiner
from bot.adapters.refiner.bedrock import BedrockRefiner
from bot.adapters.refiner.offline import OfflineRefiner
from bot.conversation.ports import ShotListRequest
from tests.fakes.bedrock import FakeBedrock, Reply

MODEL = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
FOX = "a red fox running through snow at sunset"


@pytest.fixture
def bedrock():
    with FakeBedrock() as fake:
        yield fake


def refiner(bedrock):
    return BedrockRefiner(bedrock.client(), MODEL, backoff_s=0.001)


def shots(*pairs):
    return {"shots": [{"title": title, "prompt": prompt} for title, prompt in pairs]}


def test_bedrock_is_made_to_answer_through_the_storyboard_tool_with_its_schema(bedrock):
    refiner(bedrock).shot_list(ShotListRequest(FOX, shots=3))
    [request] = bedrock.requests
    tool = request.body["toolConfig"]
    assert tool["toolChoice"] == {"tool": {"name": "write_storyboard"}}
    schema = tool["tools"][0]["toolSpec"]["inputSchema"]["json"]
    assert schema["properties"]["shots"]["minItems"] == schema["properties"]["shots"]["maxItems"] == 3
    assert "same characters" in request.system and "exactly 3 shots" in request.system
    assert request.texts("user") == [FOX]


def test_the_tools_input_becomes_the_shot_list_cleaned_like_any_prompt(bedrock):
    bedrock.script(
        Reply.tool(shots(("**Wide**", "A fox in snow.\n\n- wide shot"), ("Close-up", "The fox's face.")))
    )
    answer = refiner(bedrock).shot_list(ShotListRequest(FOX, shots=2))
    assert [(s.title, s.prompt) for s in answer.shots] == [
        ("Wide", "A fox in snow. wide shot"),
        ("Close-up", "The fox's face."),
    ]
    assert answer.refiner == "Claude on Bedrock"


def test_a_malformed_shot_list_is_sent_back_once_as_the_tools_error(bedrock):
    bedrock.script(Reply.tool(shots(("Only one", "A fox."))), Reply.tool(shots(("A", "Fox."), ("B", "Fox."))))
    answer = refiner(bedrock).shot_list(ShotListRequest(FOX, shots=2))
    assert [s.title for s in answer.shots] == ["A", "B"]
    retry = bedrock.requests[1]
    assert [m["role"] for m in retry.messages] == ["user", "assistant", "user"]
    result = retry.messages[2]["content"][0]["toolResult"]
    assert result["status"] == "error" and "exactly 2 shots, not 1" in result["content"][0]["text"]


def test_two_malformed_shot_lists_fall_back_to_the_offline_refiner_and_say_so(bedrock):
    bedrock.script(Reply.tool({"shots": "a fox"}), Reply.tool({"scenes": []}))
    answer = FallbackRefiner(refiner(bedrock), OfflineRefiner()).shot_list(ShotListRequest(FOX, shots=2))
    assert len(bedrock.requests) == 2 and len(answer.shots) == 2
    assert answer.note.startswith("Claude on Bedrock wrote a shot list I couldn't use, twice, so the offline")


def test_the_offline_storyboard_keeps_subject_setting_and_look_and_varies_the_framing():
    answer = OfflineRefiner().shot_list(ShotListRequest(FOX, shots=4, max_words=90))
    titles = [s.title for s in answer.shots]
    assert titles == ["Establishing wide", "Medium shot", "Close-up", "Closing wide"]
    for shot in answer.shots:
        assert "fox" in shot.prompt and "snow" in shot.prompt and "golden-hour" in shot.prompt
        assert len(shot.prompt.split()) <= 90
    cameras = {shot.prompt.split(". ")[1] for shot in answer.shots}
    assert len(cameras) == 4  # a different camera move in each
