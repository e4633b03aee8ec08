"""AWS's side of a deployment, played locally: what Lambda hands a function (its context object, a
Function URL's event, EventBridge's and SQS's events) and the stack's resources on moto's server.

Shared by the AWS tests (tests/aws) and the benchmarks (bench/), which run the bot's real handlers.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from bot.adapters.store.dynamodb import TABLE_SCHEMA, TTL_ATTRIBUTE
from tests.fakes.moto_server import ACCOUNT, REGION

TABLE, BUCKET, QUEUE = "videobot-sessions", "videobot-media", "videobot-capacity"
SLACK_FUNCTION = "videobot-slack-requests"
JOB_ROLE = f"arn:aws:iam::{ACCOUNT}:role/videobot-job"


@dataclass
class LambdaContext:
    """The fields of Lambda's context object that Bolt and Powertools read."""

    function_name: str = SLACK_FUNCTION
    memory_limit_in_mb: int = 1024
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def function_url_event(body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    """What a Lambda Function URL hands the function for an HTTP POST (payload format 2.0)."""
    now = time.time()
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/",
        "rawQueryString": "",
        "headers": {k.lower(): v for k, v in headers.items()},
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "videobot0url",
            "domainName": "videobot0url.lambda-url.us-east-1.on.aws",
            "domainPrefix": "videobot0url",
            "http": {
                "method": "POST",
                "path": "/",
                "protocol": "HTTP/1.1",
                "sourceIp": "3.3.3.3",
                "userAgent": headers.get("User-Agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "body": base64.b64encode(body).decode(),
        "isBase64Encoded": True,
    }


def _eventbridge_event(detail_type: str, source: str, resources: list[str], detail: dict) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": ACCOUNT,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "region": REGION,
        "resources": resources,
        "detail": detail,
    }


def state_change_event(job_id: str, status: str, **detail: Any) -> dict[str, Any]:
    """SageMaker's `Processing Job State Change` for the job's `videobot-<job_id>`, as EventBridge
    delivers it."""
    name = f"videobot-{job_id}"
    arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:processing-job/{name}"
    return _eventbridge_event(
        "SageMaker Processing Job State Change",
        "aws.sagemaker",
        [arn],
        {
            "ProcessingJobName": name,
            "ProcessingJobArn": arn,
            "ProcessingJobStatus": status,
            "RoleArn": JOB_ROLE,
            "LastModifiedTime": int(time.time() * 1000),
            **detail,
        },
    )


def progress_event(
    job_id: str, phase: str, step: int = 0, total: int = 0, elapsed_s: float = 0.0
) -> dict[str, Any]:
    """The render's own progress event (the job puts it on the event bus)."""
    return _eventbridge_event(
        "Render Progress",
        "videobot.render",
        [],
        {"job_id": job_id, "phase": phase, "step": step, "total": total, "elapsed_s": elapsed_s},
    )


def sqs_event(messages: Iterable[dict[str, Any]], queue: str = QUEUE) -> dict[str, Any]:
    """SQS messages (as `ReceiveMessage` returns them) in the event an SQS event source hands a function."""
    records = [
        {
            "messageId": m["MessageId"],
            "receiptHandle": m["ReceiptHandle"],
            "body": m["Body"],
            "attributes": m.get("Attributes", {}),
            "messageAttributes": {},
            "md5OfBody": m["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue}",
            "awsRegion": REGION,
        }
        for m in messages
    ]
    return {"Records": records}


@dataclass
class Resources:
    """The account's resources as the CDK stack would create them, and clients to look at them."""

    table: str
    bucket: str
    queue_url: str
    secret_arn: str
    s3: Any
    sqs: Any
    dynamodb: Any
    sagemaker: Any


def create_resources(client: Callable[[str], Any], *, signing_secret: str, bot_token: str) -> Resources:
    """The sessions table (the store's own `TABLE_SCHEMA`, with TTL), the media bucket, the capacity
    queue and the Slack secret, made through `client(service)` (a boto3 client pointed at moto)."""
    dynamodb = client("dynamodb")
    dynamodb.create_table(TableName=TABLE, **TABLE_SCHEMA)
    dynamodb.update_time_to_live(
        TableName=TABLE, TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE}
    )
    s3 = client("s3")
    s3.create_bucket(Bucket=BUCKET)
    sqs = client("sqs")
    queue_url = sqs.create_queue(QueueName=QUEUE)["QueueUrl"]
    secret_arn = client("secretsmanager").create_secret(
        Name="videobot/slack",
        SecretString=json.dumps({"signing_secret": signing_secret, "bot_token": bot_token}),
    )["ARN"]
    return Resources(TABLE, BUCKET, queue_url, secret_arn, s3, sqs, dynamodb, client("sagemaker"))
