"""One person's request followed end to end on the deployed bot, and what they ended up with.

`run_request` plays the person (`/video`, then Generate on the draft), SageMaker (the job ends as
told) and EventBridge (the state change is delivered, and delivered again while the handler fails,
as EventBridge retries), then the scheduled sweeper as the backstop for an event that never comes.
Only then is the thread read: a video, an explanation (a note to the person, a failure or refusal in
the thread, Slack's own error notice), or nothing at all (lost); and anything that happened twice.

`AwsFaults` answers chosen AWS calls with the service's own error response, at the HTTP layer
(botocore's `before-send`), or makes the calling Lambda die right there (`LambdaDied`, which no
`except Exception` catches, as a killed process runs no handler).
"""

from __future__ import annotations

import contextlib
import json
import threading
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse

import bot.runtime.lambda_handlers
from bot.adapters.store.dynamodb import KEY, DynamoDbSessionStore
from bot.conversation.sessions import ACTIVE
from bot.slack.blocks import GENERATE
from localslack import Message, SlackStandIn
from tests.aws.conftest import Deployment, FakeBody, job_id_of
from tests.conftest import CHANNEL, Person, roots, seen
from tests.fakes.aws_lambda import LambdaContext

# How our explanations in a thread begin: a failed or cancelled render, a draft that can't be rendered,
# a refusal, a prompt a guardrail stopped. (Notes only the person sees are explanations too.)
EXPLAINING = ("❌", "🛑", "⚠️", "⏸️", "🙅")
EVENTBRIDGE_ATTEMPTS = 3


class LambdaDied(BaseException):
    """The function's process is gone at this point (killed, out of memory, timed out)."""


@dataclass
class Result:
    outcome: str  # "video", "explained" or "lost"
    duplicates: int
    root: Message | None = None
    job_id: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        return {
            "videos": int(self.outcome == "video"),
            "explained": int(self.outcome == "explained"),
            "lost": int(self.outcome == "lost"),
            "duplicates": self.duplicates,
        }


def deliver_like_eventbridge(deployed: Deployment, event: dict[str, Any]) -> int:
    """Deliver `event`; while the handler fails (or its Lambda dies), deliver it again. Returns how
    many attempts failed."""
    failures = 0
    for _ in range(EVENTBRIDGE_ATTEMPTS):
        try:
            deployed.deliver(event)
            return failures
        except (Exception, LambdaDied):
            failures += 1
    return failures


def sweep_later(deployed: Deployment, *, after_s: float = 3600.0) -> None:
    """The scheduled sweeper, run as if `after_s` seconds had passed (the deployment's clock moves)."""
    services = deployed.services
    real = services.clock
    services.clock = lambda: real() + after_s
    try:
        with contextlib.suppress(Exception, LambdaDied):
            deployed.sweep()
    finally:
        services.clock = real


def drain_capacity_queue(deployed: Deployment, rounds: int = 3) -> None:
    """The dispatcher, fed the capacity queue's messages as its event source would. When it dies,
    its batch becomes visible again (as SQS does once the visibility timeout is over)."""
    for _ in range(rounds):
        batch = deployed.waiting_messages()
        if not batch["Records"]:
            return
        try:
            deployed.dispatch(batch)
        except LambdaDied:
            for record in batch["Records"]:
                deployed.resources.sqs.change_message_visibility(
                    QueueUrl=deployed.resources.queue_url,
                    ReceiptHandle=record["receiptHandle"],
                    VisibilityTimeout=0,
                )
        except Exception:
            continue


def deliver_dead_letters(deployed: Deployment) -> None:
    """The Slack function's dead-letter queue, read by the function that explains them."""
    letters = getattr(deployed, "dead_letters", [])
    if not letters:
        return
    records = [
        {
            "messageId": f"dead-{id(event)}",
            "receiptHandle": "handle",
            "body": json.dumps(event),
            "attributes": {"ApproximateReceiveCount": "1"},
            "messageAttributes": {},
            "md5OfBody": "",
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:videobot-async-dead-letters",
            "awsRegion": "us-east-1",
        }
        for event in letters
    ]
    letters.clear()
    with contextlib.suppress(Exception, LambdaDied):
        bot.runtime.lambda_handlers.explain_unfinished_requests({"Records": records}, LambdaContext())


def _videos(slack: SlackStandIn, thread_ts: str) -> int:
    return sum(1 for f in slack.files if f.thread_ts == thread_ts and f.name == "video.mp4")


def _explained(slack: SlackStandIn, person: Person, thread_ts: str | None, notes_before: int) -> bool:
    if len(person.ephemerals()) > notes_before:
        return True
    if thread_ts is None:
        return False
    return any(
        m.bot_id and any(line.lstrip("> *_").startswith(EXPLAINING) for line in seen(m).splitlines())
        for m in slack.thread(CHANNEL, thread_ts)[1:]
    )


def run_request(
    deployed: Deployment,
    person: Person,
    idea: str = "a fox",
    *,
    ending: str = "Completed",
    exit_message: str = "",
    repeats: int = 1,
    sweep_after_s: float = 3600.0,
) -> Result:
    """`/video idea` → Generate → the job ends with `ending` ("Completed", "Failed", "Stopped", or
    "silent" / "silent-failed": it ends so but its event never comes), its event delivered `repeats`
    times; then the sweeper runs as if `sweep_after_s` had passed → what the person got."""
    slack, lam = deployed.slack, deployed.lam
    roots_before = {m.ts for m in roots(slack)}
    notes_before = len(person.ephemerals())
    jobs_before = set(deployed.aws.sagemaker_jobs())
    slack.slash_command("/video", idea, user=person.user, channel=CHANNEL)
    lam.wait_idle()
    deliver_dead_letters(deployed)
    new_roots = [m for m in roots(slack) if m.ts not in roots_before and m.bot_id]
    duplicates = max(0, len(new_roots) - 1)
    if not new_roots:
        return _verdict(slack, person, None, None, notes_before, duplicates)
    root = new_roots[0]
    cards = [m for m in slack.thread(CHANNEL, root.ts) if GENERATE in m.action_ids()]
    if not cards:
        return _verdict(slack, person, root, None, notes_before, duplicates)
    duplicates += len(cards) - 1  # one draft, one card
    if slack.click(cards[-1], GENERATE, user=person.user).status != 200:
        # Slack marks the button as failed; a person presses it again.
        lam.wait_idle()
        slack.click(cards[-1], GENERATE, user=person.user)
    lam.wait_idle()
    deliver_dead_letters(deployed)
    job_id = job_id_of(root)
    drain_capacity_queue(deployed)
    started = [n for n in deployed.aws.sagemaker_jobs() if n not in jobs_before]
    duplicates += max(0, len(started) - 1)
    # Read with the test's own client, so the flow's steps (and their faults) are the bot's calls only.
    table = DynamoDbSessionStore(deployed.resources.table, deployed.resources.dynamodb)
    store_jobs = [j for j in table.jobs_for_owner(person.user) if j.thread_ts == root.ts]
    duplicates += max(0, len(store_jobs) - 1)  # a second quota charge for one click
    if f"videobot-{job_id}" in started:
        _end_job(deployed, job_id, ending, exit_message, repeats)
    sweep_later(deployed, after_s=sweep_after_s)  # the schedule runs whatever happened: the backstop
    lam.wait_idle()
    deliver_dead_letters(deployed)
    late = [n for n in deployed.aws.sagemaker_jobs() if n not in jobs_before and n not in started]
    if f"videobot-{job_id}" in late:  # the sweep started a render left waiting in line: it runs too
        duplicates += max(0, len(late) - 1)
        _end_job(deployed, job_id, ending, exit_message, repeats)
        lam.wait_idle()
        deliver_dead_letters(deployed)
    result = _verdict(slack, person, root, job_id, notes_before, duplicates)
    hanging = [j for j in table.jobs_for_owner(person.user) if j.thread_ts == root.ts and j.status in ACTIVE]
    if hanging:  # a render nothing will ever end holds its quota for good: as bad as no answer
        result.outcome = "lost"
        result.notes.append(f"left hanging: {[j.job_id for j in hanging]}")
    return result


def _end_job(deployed: Deployment, job_id: str, ending: str, exit_message: str, repeats: int) -> None:
    silent = ending.startswith("silent")
    status = {"silent": "Completed", "silent-failed": "Failed"}.get(ending, ending)
    if status == "Completed":
        deployed.write_outputs(job_id)
    deployed.set_status(
        job_id,
        status,
        failure_reason="AlgorithmError: see job logs" if status == "Failed" else "",
        exit_message=exit_message,
    )
    if not silent:
        detail = {"ExitMessage": exit_message} if exit_message else {}
        event = deployed.state_change(job_id, status, **detail)
        for _ in range(repeats):
            deliver_like_eventbridge(deployed, event)


def _verdict(
    slack: SlackStandIn,
    person: Person,
    root: Message | None,
    job_id: str | None,
    notes_before: int,
    duplicates: int,
) -> Result:
    thread_ts = root.ts if root else None
    videos = _videos(slack, thread_ts) if thread_ts else 0
    duplicates += max(0, videos - 1)
    if videos:
        outcome = "video"
    elif _explained(slack, person, thread_ts, notes_before):
        outcome = "explained"
    else:
        outcome = "lost"
    return Result(outcome, duplicates, root, job_id)


# ----------------------------------------------------------------------------------------------- AWS faults


@dataclass
class _Fault:
    operation: str  # "dynamodb.PutItem"
    code: str
    status: int
    times: int
    after: int
    kind: str = "error"  # "error", "die", or "conflict" (someone else writes the item first)


class AwsFaults:
    """Faults for the deployment's boto3 clients, by operation and occurrence.

    Registered on the runtime's boto3 session, so every client it makes from now on has them (the
    store's, the blobs', SageMaker's, SQS's and Powertools' idempotency client). `record()` lists the
    operations in the order they were made.
    """

    def __init__(self, side_client: Any) -> None:
        self.side = side_client  # a DynamoDB client of the test's own, for the concurrent writes
        self.faults: list[_Fault] = []
        self.calls: list[str] = []
        self._lock = threading.Lock()
        bot.runtime.lambda_handlers.runtime().session.events.register("before-send", self._before_send)

    def fail(self, operation: str, code: str, status: int = 400, *, times: int = 1, after: int = 0) -> None:
        """The next `times` calls of `operation` get `code`, after `after` more are let through. Faults
        on one operation take their turns in the order they were added."""
        with self._lock:
            self.faults.append(_Fault(operation, code, status, times, after))

    def die(self, operation: str, *, after: int = 0) -> None:
        with self._lock:
            self.faults.append(_Fault(operation, "", 0, 1, after, kind="die"))

    def conflict(self, operation: str, *, after: int = 0) -> None:
        """Just before that conditional write, someone else changes the item it is conditional on."""
        with self._lock:
            self.faults.append(_Fault(operation, "", 0, 1, after, kind="conflict"))

    @property
    def pending(self) -> int:
        with self._lock:
            return sum(f.times for f in self.faults)

    def _before_send(self, request: Any, event_name: str = "", **_: Any) -> AWSResponse | None:
        operation = event_name.removeprefix("before-send.")
        with self._lock:
            self.calls.append(operation)
            fault = next((f for f in self.faults if f.operation == operation and f.times > 0), None)
            if fault is None:
                return None
            if fault.after > 0:
                fault.after -= 1
                return None
            fault.times -= 1
        if fault.kind == "die":
            raise LambdaDied(operation)
        if fault.kind == "conflict":
            self._write_first(json.loads(request.body))
            return None  # the real request goes on, and meets the changed item
        if operation.startswith("s3."):
            body = f"<Error><Code>{fault.code}</Code><Message>injected</Message></Error>".encode()
            headers = {"Content-Type": "application/xml"}
        else:
            body = json.dumps({"__type": fault.code, "message": f"injected {fault.code}"}).encode()
            headers = {"Content-Type": "application/x-amz-json-1.0"}
        return AWSResponse(request.url, fault.status, headers, FakeBody(body))

    def _write_first(self, params: dict[str, Any]) -> None:
        _bump(self.side, _versioned_put(params))


def record(ledger: Any, section: str, fault: str, step: str, result: Result) -> Result:
    """Count the case in the suite's ledger (docs/reliability.md)."""
    from tests.reliability.ledger import FaultCase

    ledger.fault(FaultCase(section, fault, step, requests=1, **result.counts))
    return result


def _versioned_put(params: dict[str, Any]) -> dict[str, Any]:
    """The Put a conditional write depends on: the request's own, or a transaction's last one."""
    if "TransactItems" in params:
        return params["TransactItems"][-1]["Put"]
    return params


def _bump(side: Any, put: dict[str, Any]) -> None:
    key = {KEY: put["Item"][KEY]}
    item = side.get_item(TableName=put["TableName"], Key=key, ConsistentRead=True).get("Item")
    if item is None or "version" not in item:
        return
    version = int(item["version"]["N"]) + 1
    item["version"] = {"N": str(version)}
    if "body" in item:  # a session or job carries its version inside too
        body = json.loads(item["body"]["S"])
        if "version" in body:
            body["version"] = version
            item["body"] = {"S": json.dumps(body)}
    side.put_item(TableName=put["TableName"], Item=item)
