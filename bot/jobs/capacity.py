"""The capacity queue: renders that SageMaker had no room for wait here, and nothing is dropped.

When CreateProcessingJob answers `ResourceLimitExceeded` (the account's instance quota) or keeps
throttling, the launcher puts `{"job_id": ...}` on an SQS queue with a first delay. The dispatcher
Lambda (SQS event source, partial batch responses) tries each waiting render again; still no room,
and the message goes back with a longer invisibility (exponential back-off), while the person's
progress message shows their place in line. A render that was cancelled meanwhile, or that the
sweeper gave up on, is simply let go.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

from bot.conversation.ports import SessionStore
from bot.conversation.sessions import Job
from bot.runtime.logs import log_context

log = logging.getLogger(__name__)

FIRST_DELAY_S = 30
MAX_DELAY_S = 900


class NoCapacity(Exception):
    """SageMaker has no room for this render right now (quota or throttling)."""


class WarmJobSoon(NoCapacity):
    """The render was offered to a warm job that can start it soon: it waits for that, not for room
    (no new job is launched, and its place in line doesn't change)."""


class StillWaiting(Exception):
    """The render goes back on the queue (a batch item failure, by design)."""


def backoff_delay(attempt: int, *, first: int = FIRST_DELAY_S, cap: int = MAX_DELAY_S) -> int:
    """Seconds before try number `attempt`: 30, 60, 120, ... up to 15 minutes (with first=30)."""
    return min(cap, first * 2 ** max(0, attempt - 1))


def queue_position(store: SessionStore, job: Job) -> int:
    """The render's place in line: the renders not yet started that were asked for before it, plus one."""
    ahead = [
        other
        for other in store.active_jobs()
        if other.status == "queued" and (other.created_at, other.job_id) < (job.created_at, job.job_id)
    ]
    return len(ahead) + 1


class CapacityQueue:
    """The SQS side: put a render in line, or send it back for a while."""

    def __init__(self, queue_url: str, client: Any, *, first_delay_s: int = FIRST_DELAY_S) -> None:
        self.queue_url = queue_url
        self.client = client  # a boto3 SQS client
        self.first_delay_s = first_delay_s

    def put(self, job_id: str) -> None:
        self.client.send_message(
            QueueUrl=self.queue_url,
            MessageBody=json.dumps({"job_id": job_id}),
            DelaySeconds=backoff_delay(1, first=self.first_delay_s),
        )

    def back_off(self, receipt_handle: str, attempt: int) -> int:
        """Keep the message out of sight for the next back-off step; returns the delay chosen.
        `attempt` is how often the message has been received (SQS's ApproximateReceiveCount)."""
        delay = backoff_delay(attempt + 1, first=self.first_delay_s)
        self.client.change_message_visibility(
            QueueUrl=self.queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=delay
        )
        return delay


def dispatch_waiting_renders(
    event: Mapping[str, Any],
    *,
    store: SessionStore,
    start: Callable[[Job], None],
    queue: CapacityQueue,
    on_change: Callable[[Job, int], None],
    context: Any = None,
) -> dict[str, Any]:
    """Try each waiting render of an SQS batch once; returns the partial batch response.

    `start(job)` raises NoCapacity when there is still no room; `on_change(job, position)` tells the
    person (position 0: it started).
    """
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    def try_once(record: SQSRecord) -> None:
        try:
            job_id = str(json.loads(record.body)["job_id"])
        except (ValueError, KeyError, TypeError):
            log.error("dropping a capacity-queue message that isn't ours: %s", record.message_id)
            return
        with log_context(job_id=job_id):
            job = store.get_job(job_id)
            if job is None or job.status != "queued":
                log.info("render %s no longer waits (%s)", job_id, job.status if job else "gone")
                return
            with log_context(session=job.session_key):
                try:
                    start(job)
                except NoCapacity as reason:
                    attempt = int(record.attributes.approximate_receive_count or 1)
                    delay = queue.back_off(record.receipt_handle, attempt)
                    if isinstance(reason, WarmJobSoon):
                        log.info("a warm job can take %s soon; looking again in %d s", job_id, delay)
                        raise StillWaiting(job_id) from None
                    log.info("still no capacity for %s; next try in %d s", job_id, delay)
                    on_change(job, queue_position(store, job))
                    raise StillWaiting(job_id) from None
                log.info("render %s started after waiting", job_id)
                on_change(job, 0)

    # A batch in which every render still waits is the queue working, not the function failing.
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return dict(
        process_partial_response(
            event=dict(event), record_handler=try_once, processor=processor, context=context
        )
    )
