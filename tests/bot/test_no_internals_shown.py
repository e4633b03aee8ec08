"""People get plain sentences, never internals (paths, job ids, AWS error codes, offline test
models); the details go to the log under a short reference the person can quote."""

from __future__ import annotations

import logging
import re

from bot.blocks import GENERATE, RETRY
from bot.refiner import FallbackRefiner
from bot.refiner.bedrock import BedrockRefiner
from bot.refiner.offline import OfflineRefiner
from tests.bot.conftest import ALICE, CHANNEL, message_with, seen, thread_text
from tests.fakes.bedrock import FakeBedrock, Reply

MODEL = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
REFERENCE = re.compile(r"ref ([0-9a-f]{6})")


def logged_with(caplog, ref: str) -> str:
    return "\n".join(r.getMessage() for r in caplog.records if f"ref {ref}" in r.getMessage())


def test_a_failed_render_shows_a_sentence_and_a_reference_not_paths_or_its_job_id(
    slack, videobot, alice, monkeypatch, caplog
):
    caplog.set_level(logging.WARNING)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # CogVideoX-2B's weights are neither staged nor reachable
    root = alice.video("a fox --model 2b")
    alice.click(alice.draft_card(root), GENERATE)
    failure = message_with(slack, root, RETRY)
    shown = thread_text(slack, root)
    job_id = videobot.store.get_session(CHANNEL, root.ts).job_ids[0]
    assert job_id not in shown and "/" not in seen(failure) and "THUDM" not in shown
    assert "The weights for CogVideoX-2B aren't available to the renderer." in seen(failure)
    ref = REFERENCE.search(seen(failure)).group(1)
    assert "THUDM/CogVideoX-2b" in logged_with(caplog, ref)  # an admin finds the details by the ref


def test_the_fallback_note_doesnt_show_bedrocks_error_code(slack, start_app, alice, caplog):
    caplog.set_level(logging.WARNING)
    with FakeBedrock(default=Reply.failing("AccessDeniedException")) as bedrock:
        start_app(with_refiner=FallbackRefiner(BedrockRefiner(bedrock.client(), MODEL), OfflineRefiner()))
        root = alice.video("a red fox running through snow")
        card = alice.draft_card(root)
    assert "Claude on Bedrock couldn't be used" in seen(
        card
    ) and "the offline refiner wrote this one" in seen(card)
    assert "AccessDenied" not in thread_text(slack, root)
    ref = REFERENCE.search(seen(card)).group(1)
    assert "AccessDeniedException" in logged_with(caplog, ref)


def test_an_unknown_model_answer_offers_only_the_models_people_can_choose(slack, videobot, alice):
    slack.slash_command("/video", "a fox --model 7b", user=ALICE, channel=CHANNEL)
    answer = alice.ephemerals()[-1]
    assert "I don't know the model '7b'. Choose one of:" in answer and "2b" in answer
    assert "tiny" not in answer
