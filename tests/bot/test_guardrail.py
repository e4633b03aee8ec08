"""With a Bedrock Guardrail configured, nothing renders that it hasn't passed: the prompt whoever wrote
it (Claude, or the offline refiner when Claude is busy), and the picture. Through the real app, the
stand-in and the local Bedrock fake (ApplyGuardrail over HTTP, with the real boto3 client)."""

from __future__ import annotations

import pytest
from PIL import Image

from bot.blocks import GENERATE
from bot.content_guard import BLOCKED_MESSAGE
from bot.refiner import FallbackRefiner
from bot.refiner.bedrock import BedrockRefiner
from bot.refiner.offline import OfflineRefiner
from tests.bot.conftest import ALICE, CHANNEL, seen, settle
from tests.fakes.bedrock import FakeBedrock, Reply

MODEL = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
POLICY = "This workspace doesn't make videos about foxes."


@pytest.fixture
def bedrock(monkeypatch):
    with FakeBedrock(guardrail_message=POLICY) as fake:
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", fake.url)
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        yield fake


@pytest.fixture
def guarded_app(start_app, bedrock):
    claude = FallbackRefiner(BedrockRefiner(bedrock.client(), MODEL, backoff_s=0.001), OfflineRefiner())
    return start_app(with_refiner=claude, guardrail_id="gr-videos", guardrail_version="2")


def thread_has_card(slack, thread_ts):
    return any(GENERATE in m.action_ids() for m in slack.thread(CHANNEL, thread_ts))


def explained(slack, thread_ts, words):
    return slack.wait_until(
        lambda: next((m for m in slack.thread(CHANNEL, thread_ts) if words in seen(m)), None),
        what=f"a message saying {words!r}",
    )


def test_the_offline_prompt_written_while_claude_is_busy_is_checked_by_the_guardrail(
    slack, guarded_app, alice, bedrock
):
    bedrock.default = Reply.throttled()
    bedrock.guardrail_blocks = ("fox",)
    root = alice.video("a red fox running through snow")
    explained(slack, root.ts, POLICY)
    settle()
    assert not thread_has_card(slack, root.ts)
    [check] = bedrock.guardrail_requests
    assert check.model_id == "gr-videos:2" and check.body["source"] == "INPUT"
    assert "fox" in check.body["content"][0]["text"]["text"]


def test_without_a_configured_message_the_refusal_is_our_own_sentence(slack, guarded_app, alice, bedrock):
    bedrock.guardrail_blocks = ("fox",)
    bedrock.guardrail_message = ""
    root = alice.video("a red fox running through snow")
    explained(slack, root.ts, BLOCKED_MESSAGE)
    assert not thread_has_card(slack, root.ts)


def test_a_picture_the_guardrail_refuses_is_not_animated(slack, guarded_app, alice, bedrock, tmp_path):
    bedrock.guardrail_blocks_images = True
    picture = tmp_path / "harbour.jpg"
    Image.new("RGB", (320, 200), (30, 90, 160)).save(picture)
    shared = slack.share_file(CHANNEL, picture, user=ALICE, text="make the boats bob")
    assert POLICY in alice.told(POLICY)
    settle()
    assert not thread_has_card(slack, shared.ts)
    assert guarded_app.store.get_session(CHANNEL, shared.ts) is None
    [check] = bedrock.guardrail_requests
    assert check.body["content"][0]["image"]["format"] == "jpeg"


def test_when_the_guardrail_cant_be_asked_nothing_renders_and_the_person_is_told_to_try_again(
    slack, guarded_app, alice, bedrock
):
    root = alice.video("a red fox running through snow --frames 9")
    card = alice.draft_card(root)
    bedrock.guardrail_error = "ThrottlingException"
    alice.click(card, GENERATE)
    assert "Please try again in a minute." in alice.told("content policy")
    assert guarded_app.store.get_session(CHANNEL, root.ts).job_ids == ()


def test_every_render_checks_the_prompt_it_will_use(slack, guarded_app, alice, bedrock):
    root = alice.video("a red fox running through snow --frames 9")
    card = alice.draft_card(root)
    bedrock.guardrail_blocks = ("fox",)  # the policy changed after the draft was written
    alice.click(card, GENERATE)
    assert POLICY in alice.told(POLICY)
    assert guarded_app.store.get_session(CHANNEL, root.ts).job_ids == ()
