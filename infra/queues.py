"""SQS queues as this stack makes them: encrypted at rest, TLS only."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_sqs as sqs
from constructs import Construct


def secure_queue(scope: Construct, construct_id: str, **props: object) -> sqs.Queue:
    return sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        **props,
    )


def dead_letter_queue(
    scope: Construct, construct_id: str, *, consumer_timeout: cdk.Duration | None = None
) -> sqs.Queue:
    """Where failed deliveries wait for a person: kept for SQS's longest, 14 days.

    A queue a function drains (`consumer_timeout`: that function's timeout) stays invisible for six
    times that timeout, Lambda's advice; Lambda refuses an event source whose queue's visibility
    timeout is shorter than the function's timeout (cfn-lint E3505), and SQS's default is 30 s.
    """
    visibility = cdk.Duration.seconds(consumer_timeout.to_seconds() * 6) if consumer_timeout else None
    return secure_queue(
        scope, construct_id, retention_period=cdk.Duration.days(14), visibility_timeout=visibility
    )
