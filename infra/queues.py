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


def dead_letter_queue(scope: Construct, construct_id: str) -> sqs.Queue:
    """Where failed deliveries wait for a person: kept for SQS's longest, 14 days."""
    return secure_queue(scope, construct_id, retention_period=cdk.Duration.days(14))
