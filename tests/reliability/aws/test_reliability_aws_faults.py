"""DynamoDB, S3 and SageMaker failing at each step of the flow, one call at a time, and the Lambda that
makes the call dying right there: every request still ends in a video or an explanation, once.

The steps are the AWS calls one request makes (`STEPS`, checked against a clean run). The faults are
the services' own error responses, injected at the HTTP layer (botocore's `before-send`): a 5xx until
botocore's five attempts are spent (at every step), throttling once (a step per client), and, before
each conditional write, someone else changing the item first. A Lambda that dies is re-invoked the
way AWS does it: a Function URL answers Slack 502, EventBridge delivers the job event again, and a lazy
listener's invocation (which Lambda doesn't retry: it might repeat half-done work) goes to the
function's dead-letter queue, whose messages a function reads to tell the person.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.reliability.flows import LambdaDied, record, run_request


@dataclass(frozen=True)
class Step:
    operation: str
    index: int  # which call of `operation` in the flow
    name: str
    versioned: bool = False  # a write conditional on the version it read
    where: str = "lazy"  # the invocation that makes it: "ack", "lazy" (a lazy listener) or "event"


STEPS = [
    Step("dynamodb.PutItem", 0, "claim the command's signature", where="ack"),
    Step("dynamodb.PutItem", 1, "idempotency record: /video started"),
    Step("dynamodb.PutItem", 2, "create the session"),
    Step("dynamodb.GetItem", 0, "read the owner's defaults"),
    Step("dynamodb.PutItem", 3, "save the draft", versioned=True),
    Step("dynamodb.PutItem", 4, "save the draft card", versioned=True),
    Step("dynamodb.UpdateItem", 0, "idempotency record: /video done"),
    Step("dynamodb.PutItem", 5, "claim the click's signature", where="ack"),
    Step("dynamodb.PutItem", 6, "idempotency record: Generate started"),
    Step("dynamodb.GetItem", 1, "read the session"),
    Step("dynamodb.BatchGetItem", 0, "reserve: read the quotas"),
    Step("dynamodb.Query", 0, "reserve: the owner's renders"),
    Step("dynamodb.Query", 1, "reserve: the active renders"),
    Step("dynamodb.TransactWriteItems", 0, "reserve: the job and the quotas", versioned=True),
    Step("dynamodb.PutItem", 7, "add the job to the session", versioned=True),
    Step("dynamodb.PutItem", 8, "save the progress message", versioned=True),
    Step("dynamodb.PutItem", 9, "put the job in line for a slot", versioned=True),
    Step("dynamodb.Query", 2, "the line: the active renders"),
    Step("dynamodb.PutItem", 10, "take a free slot", versioned=True),
    Step("s3.PutObject", 0, "stage the job's spec"),
    Step("s3.ListObjectsV2", 0, "is a warm job of the model waiting?"),
    Step("s3.ListObjectsV2", 1, "are the model's weights staged?"),
    Step("sagemaker.CreateProcessingJob", 0, "start the processing job"),
    Step("dynamodb.PutItem", 11, "mark the job launched", versioned=True),
    Step("dynamodb.GetItem", 2, "read the job as launched"),
    Step("dynamodb.UpdateItem", 1, "idempotency record: Generate done"),
    Step("dynamodb.GetItem", 3, "read the job", where="event"),
    Step("dynamodb.PutItem", 12, "claim the delivery", versioned=True, where="event"),
    Step("s3.GetObject", 0, "read result.json", where="event"),
    Step("s3.GetObject", 1, "read the video", where="event"),
    Step("dynamodb.PutItem", 13, "remember the upload", versioned=True, where="event"),
    Step("dynamodb.PutItem", 14, "mark the video delivered", versioned=True, where="event"),
]
ERRORS = {  # per service: (a 5xx, its status), (throttling, its status)
    "dynamodb": (("InternalServerError", 500), ("ProvisionedThroughputExceededException", 400)),
    "s3": (("InternalError", 500), ("SlowDown", 503)),
    "sagemaker": (("InternalFailure", 500), ("ThrottlingException", 400)),
}
ATTEMPTS = 5  # botocore's standard retry mode, as `bot.runtime.compose.boto_config` sets it
SECTIONS = {"dynamodb": "DynamoDB", "s3": "S3", "sagemaker": "SageMaker"}
IDS = [f"{s.operation}#{s.index}" for s in STEPS]


def section(step: Step) -> str:
    return SECTIONS[step.operation.split(".")[0]]


def test_the_steps_are_the_calls_a_request_makes(deployed, alice, faults):
    assert run_request(deployed, alice).outcome == "video"
    made: list[tuple[str, int]] = []
    for operation in faults.calls:
        made.append((operation, sum(1 for m, _ in made if m == operation)))
    assert made[: len(STEPS)] == [(s.operation, s.index) for s in STEPS]  # then the sweeper's


@pytest.mark.parametrize("step", STEPS, ids=IDS)
def test_an_aws_error_at_each_step_is_explained_or_survived(deployed, alice, faults, ledger, step):
    (code, status), _ = ERRORS[step.operation.split(".")[0]]
    faults.fail(step.operation, code, status, times=ATTEMPTS, after=step.index)
    result = run_request(deployed, alice)
    record(ledger, section(step), f"{code} (HTTP {status}) until retries run out", step.name, result)
    assert faults.pending == 0, "the flow never reached the fault"
    assert result.outcome != "lost"
    assert result.duplicates == 0


# Throttling once is botocore's to wait out: one step per client (and per kind of call) shows it is.
THROTTLED = [
    s
    for s in STEPS
    if (s.operation, s.index)
    in {
        ("dynamodb.PutItem", 1),  # Powertools' own client
        ("dynamodb.PutItem", 2),
        ("dynamodb.BatchGetItem", 0),
        ("dynamodb.TransactWriteItems", 0),
        ("s3.PutObject", 0),
        ("s3.GetObject", 1),
    }
]


@pytest.mark.parametrize("step", THROTTLED, ids=lambda s: f"{s.operation}#{s.index}")
def test_throttling_once_is_waited_out(deployed, alice, faults, ledger, step):
    _, (code, status) = ERRORS[step.operation.split(".")[0]]
    faults.fail(step.operation, code, status, times=1, after=step.index)
    result = run_request(deployed, alice)
    record(ledger, section(step), f"{code} once", step.name, result)
    assert faults.pending == 0
    assert result.outcome == "video"
    assert result.duplicates == 0


@pytest.mark.parametrize("step", [s for s in STEPS if s.versioned], ids=lambda s: f"{s.operation}#{s.index}")
def test_a_concurrent_write_before_each_conditional_write_is_merged(deployed, alice, faults, ledger, step):
    faults.conflict(step.operation, after=step.index)
    result = run_request(deployed, alice)
    record(ledger, "DynamoDB", "someone else wrote the item first", step.name, result)
    assert faults.pending == 0
    assert result.outcome == "video"
    assert result.duplicates == 0


@pytest.mark.parametrize("step", STEPS, ids=IDS)
def test_a_lambda_dying_at_each_step_ends_in_a_video_or_an_explanation(deployed, alice, faults, ledger, step):
    faults.die(step.operation, after=step.index)
    result = run_request(deployed, alice)
    deployed.lam.errors[:] = [e for e in deployed.lam.errors if not isinstance(e, LambdaDied)]
    record(ledger, "Lambda", f"dies ({step.where}), invoked again as AWS does", step.name, result)
    assert faults.pending == 0
    assert result.outcome != "lost"
    assert result.duplicates == 0
