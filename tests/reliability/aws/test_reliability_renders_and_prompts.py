"""The renderer and the prompt writer misbehaving: SageMaker out of capacity or throttling, a job that
fails, is stopped or never sends its event, events that come twice; Bedrock throttling, failing,
breaking off mid-stream, or a guardrail stepping in. Every request ends in a video or an explanation,
and nothing happens twice."""

from __future__ import annotations

import pytest

from bot.adapters.refiner import FallbackRefiner
from bot.adapters.refiner.bedrock import BedrockRefiner
from bot.adapters.refiner.offline import OfflineRefiner
from localslack import render_blocks
from tests.conftest import CHANNEL
from tests.fakes.bedrock import FakeBedrock, Reply
from tests.reliability.flows import record, run_request

MODEL = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
PROMPT = "A red fox trots through fresh snow at dusk, its breath steaming; a slow tracking shot."


def thread(slack, result) -> str:
    """Everything the thread showed, earlier versions of edited messages included."""
    shown = []
    for message in slack.thread(CHANNEL, result.root.ts):
        versions = [*message.history, (message.text, message.blocks)]
        shown += [text + "\n" + "\n".join(render_blocks(blocks, {})) for text, blocks in versions]
    return "\n".join(shown)


# ------------------------------------------------------------------------------------------ the renderer

ENDINGS = {
    "the job fails and says why": ("Failed", "The picture could not be read."),
    "the job fails without a word": ("Failed", ""),
    "the job is stopped": ("Stopped", ""),
    "the job completes; its event never comes": ("silent", ""),
    "the job fails; its event never comes": ("silent-failed", ""),
}


@pytest.mark.parametrize("ending", list(ENDINGS))
def test_however_the_job_ends_the_thread_hears(deployed, alice, slack, ledger, ending):
    status, message = ENDINGS[ending]
    result = record(
        ledger,
        "SageMaker",
        ending,
        "the render",
        run_request(deployed, alice, ending=status, exit_message=message),
    )
    assert result.outcome == ("video" if status in ("Completed", "silent") else "explained")
    assert result.duplicates == 0
    if message:
        assert message in thread(slack, result)


@pytest.mark.parametrize("times", [2, 3])
def test_a_completed_event_delivered_again_posts_one_video(deployed, alice, ledger, times):
    result = run_request(deployed, alice, repeats=times)
    record(ledger, "SageMaker", f"Completed delivered {times} times", "the job's event", result)
    assert result.outcome == "video"
    assert result.duplicates == 0


CAPACITY = {
    "ResourceLimitExceeded, twice": ("ResourceLimitExceeded", 400, 2),
    "ThrottlingException until retries run out": ("ThrottlingException", 400, 5),
}


@pytest.mark.parametrize("fault", list(CAPACITY))
def test_no_capacity_for_a_while_waits_in_line_then_renders(deployed, alice, faults, ledger, fault):
    code, status, times = CAPACITY[fault]
    faults.fail("sagemaker.CreateProcessingJob", code, status, times=times)
    result = record(ledger, "SageMaker", fault, "start the processing job", run_request(deployed, alice))
    assert faults.pending == 0
    assert result.outcome == "video"
    assert result.duplicates == 0


def test_the_dispatcher_dying_as_it_starts_a_waiting_render_starts_it_once(deployed, alice, faults, ledger):
    faults.fail("sagemaker.CreateProcessingJob", "ResourceLimitExceeded", 400, times=1)
    faults.die("sagemaker.CreateProcessingJob")  # next in line: the dispatcher's try dies right there
    result = run_request(deployed, alice)
    record(ledger, "Lambda", "the dispatcher dies; SQS delivers again", "start a waiting render", result)
    assert faults.pending == 0
    assert result.outcome == "video"
    assert result.duplicates == 0


def test_no_capacity_for_hours_is_given_up_with_an_explanation(deployed, alice, slack, faults, ledger):
    faults.fail("sagemaker.CreateProcessingJob", "ResourceLimitExceeded", 400, times=1000)
    result = run_request(deployed, alice, sweep_after_s=7 * 3600)
    record(ledger, "SageMaker", "ResourceLimitExceeded for 7 hours", "start the processing job", result)
    assert result.outcome == "explained"
    assert "There was no GPU capacity for this render" in thread(slack, result)


# ------------------------------------------------------------------------------------ the prompt writer


@pytest.fixture
def bedrock(deployed):
    with FakeBedrock(default=Reply.answer(PROMPT)) as fake:
        refiner = FallbackRefiner(BedrockRefiner(fake.client(), MODEL, backoff_s=0.001), OfflineRefiner())
        deployed.services.refiner._refiner = refiner  # the configured refiner, pointed at the local Converse
        yield fake


BEDROCK = {
    "ThrottlingException once": ([Reply.throttled()], True),
    "ThrottlingException on every try": ([Reply.throttled()] * 3, False),
    "ServiceUnavailableException on every try": ([Reply.failing("ServiceUnavailableException")] * 3, False),
    "AccessDeniedException": ([Reply.failing("AccessDeniedException")], False),
    "the stream breaks off midway": ([Reply.broken_stream(after_chunks=2)], True),
}


@pytest.mark.parametrize("fault", list(BEDROCK))
def test_bedrock_failing_still_gives_a_draft_and_a_video(deployed, alice, slack, bedrock, ledger, fault):
    replies, claude_writes = BEDROCK[fault]
    bedrock.script(*replies)
    result = record(ledger, "Bedrock", fault, "write the prompt", run_request(deployed, alice))
    assert result.outcome == "video"
    assert result.duplicates == 0
    text = thread(slack, result)
    if claude_writes:
        assert "Written by Claude on Bedrock." in text
    else:
        assert "so the offline refiner wrote this one" in text


def test_a_guardrail_stopping_the_prompt_is_explained_and_nothing_renders(
    deployed, alice, slack, bedrock, ledger
):
    bedrock.script(Reply.guardrail())
    result = record(
        ledger, "Bedrock", "a guardrail intervenes", "write the prompt", run_request(deployed, alice)
    )
    assert result.outcome == "explained"
    assert "content policy stopped it" in thread(slack, result)
    assert deployed.aws.sagemaker_jobs() == {}
